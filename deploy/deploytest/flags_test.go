// Package deploytest validates Vigil's deployment files (Dockerfile,
// docker-compose.yml, deploy/k8s, deploy/prometheus, deploy/grafana)
// against the code they deploy: the binaries are built once per test run
// and their real flags are read from their -h output, and the metrics the
// dashboard and the alert rules use are looked up in the Go source. No
// Docker engine or cluster is needed.
package deploytest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-stream/vigil/internal/config"
)

// Programs are the command lines whose flags deployments may use: the
// binaries, and the trainer's subcommands.
var programs = []string{"consumer", "replay", "tail", "trainer train", "trainer rollback", "trainer backtest"}

// extraEnv are VIGIL_ variables the binaries read that are not named
// after a flag.
var extraEnv = map[string]bool{
	"VIGIL_CONFIG":              true, // the configuration file (-config)
	"VIGIL_KAFKA_SASL_PASSWORD": true, // the SASL password, never a flag
}

// flagInfo is one flag as `-h` prints it.
type flagInfo struct {
	Name    string
	Type    string // "" for a bool flag, else the flag package's type word
	Default string // "" when none is printed
}

// flagSet is the flags of one program, by name.
type flagSet map[string]flagInfo

// envFlag returns the flag an environment variable sets, if any.
func (fs flagSet) envFlag(env string) (flagInfo, bool) {
	for _, f := range fs {
		if config.EnvName(f.Name) == env {
			return f, true
		}
	}
	return flagInfo{}, false
}

var built struct {
	once  sync.Once
	dir   string
	flags map[string]flagSet
	err   error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// realFlags builds the binaries (once per test run, statically as the
// Dockerfile does) and returns every program's flags.
func realFlags(t *testing.T) map[string]flagSet {
	t.Helper()
	built.once.Do(func() { built.dir, built.flags, built.err = buildAndRead() })
	if built.err != nil {
		t.Fatalf("reading the binaries' flags: %v", built.err)
	}
	return built.flags
}

func buildAndRead() (string, map[string]flagSet, error) {
	dir, err := os.MkdirTemp("", "vigil-deploytest-")
	if err != nil {
		return "", nil, err
	}
	build := exec.Command("go", "build", "-o", dir+string(os.PathSeparator), "./cmd/consumer", "./cmd/trainer", "./cmd/replay", "./cmd/tail")
	build.Dir = repoRoot()
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return dir, nil, fmt.Errorf("CGO_ENABLED=0 go build ./cmd/...: %w\n%s", err, out)
	}
	flags := map[string]flagSet{}
	for _, p := range programs {
		args := strings.Fields(p)
		cmd := exec.Command(filepath.Join(dir, args[0]), append(args[1:], "-h")...)
		// The defaults, not this machine's VIGIL_ settings.
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, config.Prefix) {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			return dir, nil, fmt.Errorf("%s -h: %w\n%s", p, err, out)
		}
		fs, err := parseUsage(out)
		if err != nil {
			return dir, nil, fmt.Errorf("%s -h: %w", p, err)
		}
		flags[p] = fs
	}
	return dir, flags, nil
}

var (
	usageFlag    = regexp.MustCompile(`^  -(\S+)(?: (\S+))?$`)
	usageDefault = regexp.MustCompile(`\(default (.*)\)$`)
)

// parseUsage reads the flag package's usage format: "  -name type" lines,
// each followed by its indented help, which ends in "(default X)" when the
// default is not the zero value.
func parseUsage(out []byte) (flagSet, error) {
	fs := flagSet{}
	var cur *flagInfo
	var help []string
	flush := func() {
		if cur == nil {
			return
		}
		if m := usageDefault.FindStringSubmatch(strings.Join(help, " ")); m != nil {
			cur.Default = m[1]
			if s, err := strconv.Unquote(m[1]); err == nil {
				cur.Default = s
			}
		}
		fs[cur.Name] = *cur
		cur, help = nil, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if m := usageFlag.FindStringSubmatch(line); m != nil {
			flush()
			cur = &flagInfo{Name: m[1], Type: m[2]}
			continue
		}
		if cur != nil && strings.HasPrefix(line, "    ") {
			help = append(help, strings.TrimSpace(line))
		}
	}
	flush()
	if len(fs) == 0 {
		return nil, errors.New("no flags in the usage output")
	}
	return fs, sc.Err()
}

// checkValue reports whether v is a valid value for the flag's type.
func checkValue(f flagInfo, v string) error {
	var err error
	switch f.Type {
	case "":
		_, err = strconv.ParseBool(v)
	case "int":
		_, err = strconv.ParseInt(v, 0, 64)
	case "uint":
		_, err = strconv.ParseUint(v, 0, 64)
	case "float":
		_, err = strconv.ParseFloat(v, 64)
	case "duration":
		_, err = time.ParseDuration(v)
	}
	if err != nil {
		return fmt.Errorf("%q is not a valid %s for -%s", v, typeName(f.Type), f.Name)
	}
	return nil
}

func typeName(t string) string {
	if t == "" {
		return "bool"
	}
	return t
}

// workload is one running Vigil program as a deployment file configures
// it: which program, its command-line arguments and its environment.
type workload struct {
	where string // for messages: "compose service consumer"
	prog  string // one of programs
	args  []string
	env   map[string]string // resolved values
}

// programOf returns the program an image runs with args: the trainer's
// first argument is its subcommand.
func programOf(binary string, args []string) (prog string, rest []string, err error) {
	if binary != "trainer" {
		return binary, args, nil
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return "", nil, fmt.Errorf("trainer needs a subcommand as its first argument, got %q", args)
	}
	return "trainer " + args[0], args[1:], nil
}

// parseArgs parses args as the flag package would and returns the value of
// each flag given.
func parseArgs(fs flagSet, args []string) (map[string]string, error) {
	vals := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
			return vals, fmt.Errorf("unexpected argument %q: the program takes flags only", a)
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f, ok := fs[name]
		if !ok {
			return vals, fmt.Errorf("argument %q: no flag -%s", a, name)
		}
		if !hasValue {
			if f.Type == "" {
				value = "true"
			} else {
				if i+1 >= len(args) {
					return vals, fmt.Errorf("argument %q: flag -%s needs a value", a, name)
				}
				i++
				value = args[i]
			}
		}
		if err := checkValue(f, value); err != nil {
			return vals, fmt.Errorf("argument %q: %w", a, err)
		}
		vals[name] = value
	}
	return vals, nil
}

// check verifies that every argument is a real flag of the program with a
// valid value, and so is every VIGIL_ variable of the environment.
func (w workload) check(t *testing.T, flags map[string]flagSet) {
	t.Helper()
	fs, ok := flags[w.prog]
	if !ok {
		t.Errorf("%s: unknown program %q (known: %v)", w.where, w.prog, programs)
		return
	}
	if _, err := parseArgs(fs, w.args); err != nil {
		t.Errorf("%s: %s: %v", w.where, w.prog, err)
	}
	for name, v := range w.env {
		if !strings.HasPrefix(name, config.Prefix) || extraEnv[name] {
			continue
		}
		f, ok := fs.envFlag(name)
		if !ok {
			t.Errorf("%s: environment variable %s names no flag of %q (see `%s -h`)", w.where, name, w.prog, w.prog)
			continue
		}
		if err := checkValue(f, v); err != nil {
			t.Errorf("%s: %s: %v", w.where, name, err)
		}
	}
}

// value returns the flag's effective value: the command line wins over the
// environment, which wins over the default.
func (w workload) value(t *testing.T, flags map[string]flagSet, name string) string {
	t.Helper()
	fs := flags[w.prog]
	f, ok := fs[name]
	if !ok {
		t.Fatalf("%s: %q has no flag -%s", w.where, w.prog, name)
	}
	if vals, err := parseArgs(fs, w.args); err == nil {
		if v, ok := vals[name]; ok {
			return v
		}
	}
	if v, ok := w.env[config.EnvName(name)]; ok {
		return v
	}
	return f.Default
}

func TestParseUsage(t *testing.T) {
	out := []byte(`Usage of x:
  -a.b string
    	Some help. (default "q")
  -flag
    	a bool (default true)
  -list value
    	comma-separated (default a,b)
  -n int
    	no default
`)
	fs, err := parseUsage(out)
	if err != nil {
		t.Fatal(err)
	}
	want := flagSet{
		"a.b":  {Name: "a.b", Type: "string", Default: "q"},
		"flag": {Name: "flag", Default: "true"},
		"list": {Name: "list", Type: "value", Default: "a,b"},
		"n":    {Name: "n", Type: "int"},
	}
	if len(fs) != len(want) {
		t.Fatalf("parsed %v, want %v", fs, want)
	}
	for k, v := range want {
		if fs[k] != v {
			t.Errorf("flag %s: parsed %+v, want %+v", k, fs[k], v)
		}
	}
}

func TestParseArgs(t *testing.T) {
	fs := flagSet{
		"files":      {Name: "files", Type: "value"},
		"per-series": {Name: "per-series"},
		"last":       {Name: "last", Type: "duration"},
	}
	tests := []struct {
		args    []string
		want    map[string]string
		wantErr string
	}{
		{args: []string{"-files=/data", "-per-series", "--last", "24h"}, want: map[string]string{"files": "/data", "per-series": "true", "last": "24h"}},
		{args: []string{"-nope=1"}, wantErr: "no flag -nope"},
		{args: []string{"-last=soon"}, wantErr: "not a valid duration"},
		{args: []string{"-per-series=maybe"}, wantErr: "not a valid bool"},
		{args: []string{"extra"}, wantErr: "unexpected argument"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			got, err := parseArgs(fs, tc.args)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("-%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

// TestRealFlags makes sure the flags the other tests rely on are read.
func TestRealFlags(t *testing.T) {
	flags := realFlags(t)
	for _, tc := range []struct{ prog, flag string }{
		{"consumer", "kafka.brokers"},
		{"consumer", "admin.addr"},
		{"consumer", "stream.shutdown-timeout"},
		{"consumer", "models.topic"},
		{"replay", "replay.files"},
		{"trainer train", "models.dir"},
		{"trainer rollback", "model"},
		{"trainer backtest", "nab-data"},
		{"tail", "tail.topic"},
	} {
		t.Run(tc.prog+" -"+tc.flag, func(t *testing.T) {
			if _, ok := flags[tc.prog][tc.flag]; !ok {
				t.Errorf("`%s -h` does not list -%s", tc.prog, tc.flag)
			}
		})
	}
}

// repoRoot is the module root: this package is deploy/deploytest.
func repoRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Join(wd, "..", "..")
}

// readRepoFile reads a file by its path from the repository root.
func readRepoFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), filepath.FromSlash(path)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// port returns the port of a listen address such as ":9464" or
// "0.0.0.0:9464".
func port(t *testing.T, addr string) int {
	t.Helper()
	i := strings.LastIndex(addr, ":")
	p, err := strconv.Atoi(addr[i+1:])
	if i < 0 || err != nil {
		t.Fatalf("no port in address %q", addr)
	}
	return p
}

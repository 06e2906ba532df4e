package config_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-stream/vigil/internal/config"
)

// settings is a FlagSet of every kind of flag the binaries use.
type settings struct {
	fs       *flag.FlagSet
	brokers  config.StringList
	clientID string
	password string
	quiet    int
	fixed    float64
	wait     time.Duration
	inverse  bool
	framing  string
	topics   config.StringList
}

func newSettings() *settings {
	s := &settings{fs: flag.NewFlagSet("test", flag.ContinueOnError)}
	s.fs.SetOutput(io.Discard)
	s.brokers = config.StringList{"127.0.0.1:9092"}
	s.fs.Var(&s.brokers, "kafka.brokers", "Kafka bootstrap brokers, comma-separated host:port.")
	s.fs.StringVar(&s.clientID, "kafka.client-id", "vigil", "Client id sent to the brokers.")
	s.fs.StringVar(&s.password, "kafka.sasl.password", "", "SASL password.")
	s.fs.IntVar(&s.quiet, "threshold.episode.quiet", 100, "unflagged readings that close an episode")
	s.fs.Float64Var(&s.fixed, "threshold.fixed", 0, "fixed rule: the threshold")
	s.fs.DurationVar(&s.wait, "stream.fetch-max-wait", 250*time.Millisecond, "Longest fetch wait.")
	s.fs.BoolVar(&s.inverse, "threshold.inverse", true, "also flag drops")
	s.framing = "single-object"
	s.fs.Func("codec.framing", "framing of encoded records (default single-object)", func(v string) error {
		if v == "bad" {
			return errors.New("unknown framing")
		}
		s.framing = v
		return nil
	})
	s.fs.Var(&s.topics, "topics", "Input topics to replay.")
	return s
}

func env(m map[string]string) config.Loader {
	return config.Loader{
		LookupEnv: func(k string) (string, bool) { v, ok := m[k]; return v, ok },
		Environ: func() []string {
			var out []string
			for k, v := range m {
				out = append(out, k+"="+v)
			}
			return out
		},
	}
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vigil.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPrecedence sets one flag from every combination of the three
// sources and checks that the strongest present wins: flag > env > file >
// default, for a flag of each kind.
func TestPrecedence(t *testing.T) {
	type value struct {
		name             string // flag name
		file, env, flag  string // the value each source gives
		def              string // the default
		got              func(*settings) string
		fileKey, fileVal string // how the file sets it
	}
	values := []value{
		{name: "threshold.episode.quiet", file: "1", env: "2", flag: "3", def: "100",
			got: func(s *settings) string { return fmt.Sprint(s.quiet) }, fileKey: "threshold:\n  episode:\n    quiet: ", fileVal: "1"},
		{name: "kafka.brokers", file: "f:1,f:2", env: "e:1", flag: "c:1", def: "127.0.0.1:9092",
			got: func(s *settings) string { return s.brokers.String() }, fileKey: "kafka:\n  brokers:", fileVal: "\n    - f:1\n    - f:2"},
		{name: "stream.fetch-max-wait", file: "1s", env: "2s", flag: "3s", def: "250ms",
			got: func(s *settings) string { return s.wait.String() }, fileKey: "stream.fetch-max-wait: ", fileVal: "1s"},
		{name: "threshold.inverse", file: "false", env: "true", flag: "false", def: "true",
			got: func(s *settings) string { return fmt.Sprint(s.inverse) }, fileKey: "threshold:\n  inverse: ", fileVal: "false"},
		{name: "codec.framing", file: "json", env: "confluent", flag: "single-object", def: "single-object",
			got: func(s *settings) string { return s.framing }, fileKey: "codec: {framing: ", fileVal: "json}"},
	}
	for _, v := range values {
		for mask := range 8 {
			inFile, inEnv, inFlag := mask&1 != 0, mask&2 != 0, mask&4 != 0
			name := fmt.Sprintf("%s/file=%t,env=%t,flag=%t", v.name, inFile, inEnv, inFlag)
			t.Run(name, func(t *testing.T) {
				s := newSettings()
				e := map[string]string{}
				var args []string
				want, wantSrc := v.def, config.FromDefault
				if inFile {
					e["VIGIL_CONFIG"] = writeFile(t, "# settings\n"+v.fileKey+v.fileVal+"\n")
					want, wantSrc = v.file, config.FromFile
				}
				if inEnv {
					e[config.EnvName(v.name)] = v.env
					want, wantSrc = v.env, config.FromEnv
				}
				if inFlag {
					args = append(args, "-"+v.name+"="+v.flag)
					want, wantSrc = v.flag, config.FromFlag
				}
				eff, err := env(e).Load(s.fs, args)
				if err != nil {
					t.Fatal(err)
				}
				if got := v.got(s); got != want {
					t.Errorf("value %q, want %q", got, want)
				}
				if src := eff.Source(v.name); src.Kind != wantSrc {
					t.Errorf("source %v, want kind %d", src, wantSrc)
				}
				if inFile && wantSrc == config.FromFile && eff.Source(v.name).Line < 2 {
					t.Errorf("file source without its line: %v", eff.Source(v.name))
				}
			})
		}
	}
}

// TestConfigFileFlag checks that -config beats VIGIL_CONFIG, and that
// both name the file.
func TestConfigFileFlag(t *testing.T) {
	fromEnv := writeFile(t, "kafka.client-id: env-file\n")
	fromFlag := writeFile(t, "kafka.client-id: flag-file\n")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"none", nil, nil, "vigil"},
		{"env", nil, map[string]string{"VIGIL_CONFIG": fromEnv}, "env-file"},
		{"flag", []string{"-config", fromFlag}, nil, "flag-file"},
		{"flag beats env", []string{"-config=" + fromFlag}, map[string]string{"VIGIL_CONFIG": fromEnv}, "flag-file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSettings()
			eff, err := env(tc.env).Load(s.fs, tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if s.clientID != tc.want {
				t.Fatalf("client id %q, want %q", s.clientID, tc.want)
			}
			if tc.want != "vigil" && eff.File() == "" {
				t.Fatal("no file reported")
			}
		})
	}
}

// TestFileFormat covers the accepted forms of a file and the errors of a
// bad one, each naming the file, the line and the key.
func TestFileFormat(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		check   func(*settings) error
		wantErr []string // substrings of the error
	}{
		{name: "empty file", body: ""},
		{name: "comments only", body: "# nothing\n"},
		{name: "nested", body: "kafka:\n  brokers: [a:1, b:2]\n  client-id: x\nthreshold:\n  episode:\n    quiet: 7\n",
			check: func(s *settings) error {
				if s.brokers.String() != "a:1,b:2" || s.clientID != "x" || s.quiet != 7 {
					return fmt.Errorf("got %v %q %d", s.brokers, s.clientID, s.quiet)
				}
				return nil
			}},
		{name: "flat dotted keys", body: "kafka.brokers: a:1, b:2\nthreshold.episode:\n  quiet: 8\n",
			check: func(s *settings) error {
				if s.brokers.String() != "a:1,b:2" || s.quiet != 8 {
					return fmt.Errorf("got %v %d", s.brokers, s.quiet)
				}
				return nil
			}},
		{name: "top-level undotted", body: "topics: [s1, s2]\n",
			check: func(s *settings) error {
				if s.topics.String() != "s1,s2" {
					return fmt.Errorf("topics %v", s.topics)
				}
				return nil
			}},
		{name: "null is empty", body: "kafka:\n  client-id:\n",
			check: func(s *settings) error {
				if s.clientID != "" {
					return fmt.Errorf("client id %q", s.clientID)
				}
				return nil
			}},
		{name: "aliases", body: "kafka: {brokers: &b [a:1]}\ntopics: *b\n",
			check: func(s *settings) error {
				if s.topics.String() != "a:1" {
					return fmt.Errorf("topics %v", s.topics)
				}
				return nil
			}},
		{name: "types", body: "threshold: {fixed: 0.5, inverse: false}\nstream: {fetch-max-wait: 1m}\n",
			check: func(s *settings) error {
				if s.fixed != 0.5 || s.inverse || s.wait != time.Minute {
					return fmt.Errorf("got %v %v %v", s.fixed, s.inverse, s.wait)
				}
				return nil
			}},
		{name: "unknown key", body: "kafka:\n  brokers: a:1\n  bootstrap: b:1\n",
			wantErr: []string{"vigil.yaml:3: kafka.bootstrap: unknown setting"}},
		{name: "unknown section", body: "\nkafak:\n  brokers: a:1\n",
			wantErr: []string{"vigil.yaml:2: kafak: unknown setting"}},
		{name: "every unknown key", body: "a: 1\nb: 2\n", wantErr: []string{":1: a: unknown", ":2: b: unknown"}},
		{name: "section given a value", body: "threshold: 5\n", wantErr: []string{":1: threshold: want a mapping"}},
		{name: "value given a mapping", body: "kafka:\n  brokers:\n    a: 1\n", wantErr: []string{":2: kafka.brokers: want a value, not a mapping"}},
		{name: "bad int", body: "threshold:\n  episode:\n    quiet: lots\n", wantErr: []string{`:3: threshold.episode.quiet: invalid value "lots" (want an integer)`}},
		{name: "bad duration", body: "stream.fetch-max-wait: 250\n", wantErr: []string{`:1: stream.fetch-max-wait: invalid value "250" (want a duration`}},
		{name: "bad func value", body: "codec:\n  framing: bad\n", wantErr: []string{":2: codec.framing: ", "unknown framing"}},
		{name: "set twice", body: "kafka.client-id: a\nkafka:\n  client-id: b\n", wantErr: []string{":3: kafka.client-id: already set at line 1"}},
		{name: "config in a file", body: "config: other.yaml\n", wantErr: []string{":1: config: cannot be set"}},
		{name: "print-config in a file", body: "print-config: true\n", wantErr: []string{":1: print-config: cannot be set"}},
		{name: "not a mapping", body: "- a\n- b\n", wantErr: []string{":1: want a mapping"}},
		{name: "nested list", body: "topics: [[a]]\n", wantErr: []string{"topics:", "plain values"}},
		{name: "two documents", body: "topics: a\n---\ntopics: b\n", wantErr: []string{"one YAML document"}},
		{name: "yaml syntax", body: "kafka: [\n", wantErr: []string{"vigil.yaml"}},
		{name: "secret value not echoed", body: "kafka:\n  sasl:\n    password: hunter2\n",
			check: func(s *settings) error {
				if s.password != "hunter2" {
					return fmt.Errorf("password %q", s.password)
				}
				return nil
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSettings()
			path := writeFile(t, tc.body)
			_, err := env(nil).Load(s.fs, []string{"-config", path})
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				if err := tc.check(s); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestOverriddenKeysStillChecked: an unknown key is an error even when a
// flag sets everything else; a key overridden by a flag is still checked
// for existence.
func TestOverriddenKeysStillChecked(t *testing.T) {
	s := newSettings()
	path := writeFile(t, "kafka:\n  client-id: a\n  clientid: b\n")
	_, err := env(nil).Load(s.fs, []string{"-config", path, "-kafka.client-id=c"})
	if err == nil || !strings.Contains(err.Error(), "kafka.clientid: unknown setting") {
		t.Fatalf("error %v", err)
	}
}

// TestOverriddenValuesStillChecked: a bad value in the file is an error
// even when the environment overrides it, for the flag kinds whose values
// can be checked without setting them.
func TestOverriddenValuesStillChecked(t *testing.T) {
	tests := []struct {
		name, file, env, want string
	}{
		{"int", "threshold.episode.quiet: lots\n", "VIGIL_THRESHOLD_EPISODE_QUIET", `threshold.episode.quiet: invalid value "lots"`},
		{"duration (overridden by a flag)", "stream.fetch-max-wait: 5\n", "VIGIL_THRESHOLD_FIXED", "stream.fetch-max-wait: invalid value"},
		{"bool", "threshold.inverse: maybe\n", "VIGIL_THRESHOLD_INVERSE", "threshold.inverse: invalid value"},
		{"list", "kafka.brokers: [a:1, {b: 2}]\n", "VIGIL_KAFKA_BROKERS", "kafka.brokers: line 1: list items must be plain values"},
		{"func flags are not tried", "codec.framing: bad\n", "VIGIL_CODEC_FRAMING", ""},
		{"good values pass", "threshold.episode.quiet: 5\nstream.fetch-max-wait: 1s\n", "VIGIL_THRESHOLD_EPISODE_QUIET", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSettings()
			_, err := env(map[string]string{"VIGIL_CONFIG": writeFile(t, tc.file), tc.env: "1"}).Load(s.fs, []string{"-stream.fetch-max-wait=1s"})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	s := newSettings()
	_, err := env(map[string]string{"VIGIL_CONFIG": "/nonexistent/vigil.yaml"}).Load(s.fs, nil)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/vigil.yaml") {
		t.Fatalf("error %v", err)
	}
}

func TestEnvErrors(t *testing.T) {
	tests := []struct {
		name, key, val string
		want, notWant  string
	}{
		{"bad value names the variable", "VIGIL_THRESHOLD_EPISODE_QUIET", "lots", "environment variable VIGIL_THRESHOLD_EPISODE_QUIET", ""},
		{"print-config is not read from the environment", "VIGIL_PRINT_CONFIG", "maybe", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSettings()
			eff, err := env(map[string]string{tc.key: tc.val}).Load(s.fs, nil)
			if tc.want == "" {
				if err != nil || eff.PrintRequested() {
					t.Fatalf("err %v, print %v", err, eff.PrintRequested())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestSecretErrorsHideTheValue: a secret a flag rejects is not echoed.
func TestSecretErrorsHideTheValue(t *testing.T) {
	for _, e := range []map[string]string{{"VIGIL_API_TOKEN": "s3cr3t"}, {"VIGIL_LOCK_PIN": "s3cr3t"}} {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.Int("api.token", 0, "a numeric token")
		fs.Int("lock.pin", 0, "a pin")
		config.MarkSecret(fs, "lock.pin")
		_, err := env(e).Load(fs, nil)
		if err == nil || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "not shown") {
			t.Fatalf("error %v", err)
		}
	}
}

func TestUnknownEnvIsListedNotAnError(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.Var(&config.StringList{}, "kafka.brokers", "brokers")
	fs.String("kafka.sasl.password-file", "", "File holding the SASL password (default: VIGIL_KAFKA_SASL_PASSWORD).")
	eff, err := env(map[string]string{
		"VIGIL_KAFKA_BROKER": "a:1", "VIGIL_KAFKA_BROKERS": "b:1", "HOME": "/",
		"VIGIL_KAFKA_SASL_PASSWORD": "hunter2", // read by kafkaconn, not a flag
	}).Load(fs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(eff.UnknownEnv(), ","); got != "VIGIL_KAFKA_BROKER" {
		t.Fatalf("unknown %q", got)
	}
	var b bytes.Buffer
	if err := eff.WriteYAML(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "# Ignored, no such setting: VIGIL_KAFKA_BROKER.\n") ||
		!strings.Contains(b.String(), "# Secrets set in the environment (not shown): VIGIL_KAFKA_SASL_PASSWORD.\n") ||
		strings.Contains(b.String(), "a:1") || strings.Contains(b.String(), "hunter2") {
		t.Fatalf("print-config:\n%s", b.String())
	}
}

func TestHelp(t *testing.T) {
	s := newSettings()
	var out bytes.Buffer
	s.fs.SetOutput(&out)
	_, err := env(nil).Load(s.fs, []string{"-h"})
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("error %v", err)
	}
	for _, w := range []string{"-config", "-print-config", "VIGIL_CONFIG", "(default single-object)"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("help lacks %q:\n%s", w, out.String())
		}
	}
	if strings.Contains(out.String(), "panic") {
		t.Errorf("help:\n%s", out.String())
	}
}

func TestConflictingNames(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.String("models", "", "")
	fs.String("models.dir", "", "")
	_, err := env(nil).Load(fs, nil)
	if err == nil || !strings.Contains(err.Error(), "-models is a setting and a section") {
		t.Fatalf("error %v", err)
	}
}

package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// The flags Load adds to every FlagSet.
const (
	// ConfigFlag names the YAML configuration file; its variable is
	// VIGIL_CONFIG.
	ConfigFlag = "config"
	// PrintConfigFlag asks for the effective configuration on stdout.
	PrintConfigFlag = "print-config"
)

// SourceKind is where the value of a flag came from.
type SourceKind int

// The sources of a value, weakest first. Load applies them in the opposite
// order: a flag given on the command line wins over its environment
// variable, which wins over the configuration file, which wins over the
// default registered with the flag.
const (
	FromDefault SourceKind = iota
	FromFile
	FromEnv
	FromFlag
)

// Source says where the value of one flag came from.
type Source struct {
	Kind SourceKind
	// Env is the variable the value came from (FromEnv).
	Env string
	// File and Line locate the value in the configuration file (FromFile).
	File string
	Line int
}

// String describes the source: "flag", "env VIGIL_KAFKA_BROKERS",
// "file vigil.yaml:12" or "default".
func (s Source) String() string {
	switch s.Kind {
	case FromFlag:
		return "flag"
	case FromEnv:
		return "env " + s.Env
	case FromFile:
		return fmt.Sprintf("file %s:%d", s.File, s.Line)
	}
	return "default"
}

// Loader loads a configuration. Its zero value reads the process
// environment; tests replace the lookups.
type Loader struct {
	// LookupEnv looks up one environment variable; nil is os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Environ lists the environment as KEY=VALUE; nil is os.Environ. It is
	// only used to report VIGIL_ variables that match no flag.
	Environ func() []string
}

// Effective is a loaded configuration: the FlagSet holds the values, and
// Effective records where each came from.
type Effective struct {
	fs      *flag.FlagSet
	file    string
	print   bool
	sources map[string]Source
	raw     map[string]string // the last string each flag was set from
	unknown []string          // VIGIL_ variables that match no flag
	// secretEnv are the set variables components read secrets from.
	secretEnv []string
}

// Load is Loader{}.Load: it loads fs from args, the process environment
// and the configuration file.
func Load(fs *flag.FlagSet, args []string) (*Effective, error) {
	return Loader{}.Load(fs, args)
}

// Load registers -config and -print-config on fs, parses args, and then
// sets every flag not given on the command line from its VIGIL_…
// environment variable (see EnvName) and every flag set by neither from
// the YAML file named by -config or VIGIL_CONFIG. The precedence is flag >
// env > file > default.
//
// The file is a nested YAML mapping whose leaf paths, joined with '.', are
// flag names (see docs/configuration.md). A key that names no flag, a value
// the flag rejects and a key given twice are errors naming the file, the
// line and the key, even when the key is overridden by a flag or variable
// (values of flags made with flag.Func or flag.TextVar only when in force).
// Errors wrap flag.ErrHelp when help was asked for.
//
// Environment variables with the VIGIL_ prefix that match no flag are not
// errors: containers share one environment between binaries whose flags
// differ, tests and scripts read some (VIGIL_KAFKA_PORT), and components
// read secrets from some directly (VIGIL_KAFKA_SASL_PASSWORD, the fallback
// of -kafka.sasl.password-file). Effective.UnknownEnv lists them and
// -print-config shows their names, never their values.
func (l Loader) Load(fs *flag.FlagSet, args []string) (*Effective, error) {
	lookup, environ := l.LookupEnv, l.Environ
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if environ == nil {
		environ = os.Environ
	}
	if err := checkNames(fs); err != nil {
		return nil, err
	}
	e := &Effective{fs: fs, sources: map[string]Source{}, raw: map[string]string{}}
	fs.StringVar(&e.file, ConfigFlag, "", "YAML configuration file (also VIGIL_CONFIG); flags and VIGIL_… variables override its values.")
	fs.BoolVar(&e.print, PrintConfigFlag, false, "Print the effective configuration as YAML, secrets masked, with where each value came from, and exit.")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	e.recordArgs(args)

	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if _, given := e.sources[f.Name]; given || f.Name == PrintConfigFlag {
			return
		}
		name := EnvName(f.Name)
		v, ok := lookup(name)
		if !ok {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("environment variable %s: %w", name, setError(fs, f, v, err)))
			return
		}
		e.sources[f.Name] = Source{Kind: FromEnv, Env: name}
		e.raw[f.Name] = v
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if e.file != "" {
		if err := e.applyFile(e.file); err != nil {
			return nil, err
		}
	}
	e.unknown, e.secretEnv = checkEnv(fs, environ())
	return e, nil
}

// recordArgs parses args again into a FlagSet of the same names whose
// values only record the strings they are given: the flags given on the
// command line, and their strings (flags made with flag.Func cannot report
// their values).
func (e *Effective) recordArgs(args []string) {
	shadow := flag.NewFlagSet(e.fs.Name(), flag.ContinueOnError)
	shadow.SetOutput(io.Discard)
	e.fs.VisitAll(func(f *flag.Flag) {
		name := f.Name
		record := func(s string) error {
			e.sources[name] = Source{Kind: FromFlag}
			e.raw[name] = s
			return nil
		}
		if isBool(f) {
			shadow.BoolFunc(name, "", record)
		} else {
			shadow.Func(name, "", record)
		}
	})
	_ = shadow.Parse(args) // fs.Parse accepted the same arguments
}

// applyFile sets the flags given by neither the command line nor the
// environment from the YAML file at path.
func (e *Effective) applyFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file
		}
		return fmt.Errorf("config file %s: %w", path, err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return fmt.Errorf("config file %s: one YAML document expected", path)
	}
	root := resolve(&doc)
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = resolve(root.Content[0])
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("config file %s:%d: want a mapping of settings", path, root.Line)
	}
	seen := map[string]int{}
	var errs []error
	e.walk(path, "", root, seen, &errs)
	return errors.Join(errs...)
}

// walk applies the mapping m whose keys are under prefix.
func (e *Effective) walk(path, prefix string, m *yaml.Node, seen map[string]int, errs *[]error) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := resolve(m.Content[i]), resolve(m.Content[i+1])
		name := prefix + k.Value
		where := fmt.Sprintf("config file %s:%d: %s", path, k.Line, name)
		if k.Kind != yaml.ScalarNode || k.Value == "" {
			*errs = append(*errs, fmt.Errorf("config file %s:%d: keys must be non-empty strings", path, k.Line))
			continue
		}
		if v.Kind == yaml.MappingNode {
			if e.fs.Lookup(name) != nil {
				*errs = append(*errs, fmt.Errorf("%s: want a value, not a mapping", where))
				continue
			}
			if !e.hasPrefix(name + ".") {
				*errs = append(*errs, fmt.Errorf("%s: unknown setting (no flag -%s.…)", where, name))
				continue
			}
			e.walk(path, name+".", v, seen, errs)
			continue
		}
		f := e.fs.Lookup(name)
		switch {
		case name == ConfigFlag || name == PrintConfigFlag:
			*errs = append(*errs, fmt.Errorf("%s: cannot be set in a configuration file", where))
			continue
		case f == nil && e.hasPrefix(name+"."):
			*errs = append(*errs, fmt.Errorf("%s: want a mapping of the settings %s.…", where, name))
			continue
		case f == nil:
			*errs = append(*errs, fmt.Errorf("%s: unknown setting (no flag -%s)", where, name))
			continue
		}
		if line, dup := seen[name]; dup {
			*errs = append(*errs, fmt.Errorf("%s: already set at line %d", where, line))
			continue
		}
		seen[name] = k.Line
		s, err := scalar(v)
		if err != nil {
			*errs = append(*errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		if _, set := e.sources[name]; set {
			// The command line or the environment wins; the value is
			// still checked where that has no side effect.
			if err := tryValue(f, s); err != nil {
				*errs = append(*errs, fmt.Errorf("%s: %w", where, setError(e.fs, f, s, err)))
			}
			continue
		}
		if err := e.fs.Set(name, s); err != nil {
			*errs = append(*errs, fmt.Errorf("%s: %w", where, setError(e.fs, f, s, err)))
			continue
		}
		e.sources[name] = Source{Kind: FromFile, File: path, Line: k.Line}
		e.raw[name] = s
	}
}

// tryValue checks that f would accept s, without setting f, by setting a
// new zero value of f's type: possible for flag values that point to a
// plain type (the flag package's int, duration, bool..., StringList), and
// skipped (nil) for others, such as flag.Func, whose Set has effects.
func tryValue(f *flag.Flag, s string) (err error) {
	t := reflect.TypeOf(f.Value)
	if t.Kind() != reflect.Pointer || t.Elem().Kind() == reflect.Struct {
		return nil
	}
	v, ok := reflect.New(t.Elem()).Interface().(flag.Value)
	if !ok {
		return nil
	}
	defer func() {
		if recover() != nil {
			err = nil
		}
	}()
	return v.Set(s)
}

// scalar returns the flag string of a YAML value: a scalar as written
// (null is the empty string), a sequence of scalars joined with commas.
func scalar(v *yaml.Node) (string, error) {
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			return "", nil
		}
		return v.Value, nil
	case yaml.SequenceNode:
		parts := make([]string, 0, len(v.Content))
		for _, item := range v.Content {
			item = resolve(item)
			if item.Kind != yaml.ScalarNode {
				return "", fmt.Errorf("line %d: list items must be plain values", item.Line)
			}
			parts = append(parts, item.Value)
		}
		return strings.Join(parts, ","), nil
	}
	return "", errors.New("want a value or a list of values")
}

// resolve follows YAML aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// hasPrefix reports whether a flag name starts with prefix.
func (e *Effective) hasPrefix(prefix string) bool {
	found := false
	e.fs.VisitAll(func(f *flag.Flag) {
		found = found || strings.HasPrefix(f.Name, prefix)
	})
	return found
}

// setError is the error of a flag's Set of v: the value, the kind of value
// the flag wants and the flag's error; the value and the error are left
// out when the flag holds a secret (the error may quote the value).
func setError(fs *flag.FlagSet, f *flag.Flag, v string, err error) error {
	if IsSecret(f) || marked(fs, f.Name) {
		return errors.New("invalid value (not shown: secret)")
	}
	if kind, _ := flag.UnquoteUsage(f); kind != "" && kind != "value" && kind != "string" {
		return fmt.Errorf("invalid value %q (want %s): %w", v, kindName(kind), err)
	}
	return fmt.Errorf("invalid value %q: %w", v, err)
}

// kindName names the kind of value of flag.UnquoteUsage in words.
func kindName(kind string) string {
	switch kind {
	case "int", "uint":
		return "an integer"
	case "float":
		return "a number"
	case "duration":
		return "a duration such as 250ms or 1m30s"
	}
	return "a " + kind
}

// checkNames rejects FlagSets that no nested YAML file can describe: a
// flag whose name is also the start of another's ("models" and
// "models.dir"), or a name with an empty path segment.
func checkNames(fs *flag.FlagSet) error {
	names := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { names[f.Name] = true })
	var errs []error
	for n := range names {
		for _, seg := range strings.Split(n, ".") {
			if seg == "" {
				errs = append(errs, fmt.Errorf("flag -%s: empty name segment", n))
			}
		}
		for p := n; strings.Contains(p, "."); {
			p = p[:strings.LastIndex(p, ".")]
			if names[p] {
				errs = append(errs, fmt.Errorf("flag -%s: -%s is a setting and a section in a configuration file", n, p))
			}
		}
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errors.Join(errs...)
}

// secretFileEnv is the variable a component reads a secret from when the
// flag f, "<secret>-file", names no file: kafka.sasl.password-file falls
// back to VIGIL_KAFKA_SASL_PASSWORD. It is "" for other flags.
func secretFileEnv(f *flag.Flag) string {
	base, ok := strings.CutSuffix(f.Name, "-file")
	if !ok || !IsSecret(&flag.Flag{Name: base}) {
		return ""
	}
	return EnvName(base)
}

// checkEnv sorts the VIGIL_ variables of environ: those that match no flag
// of fs (unknown), and the secrets read directly by components (see
// secretFileEnv) that are set.
func checkEnv(fs *flag.FlagSet, environ []string) (unknown, secretsSet []string) {
	known := map[string]bool{}
	secret := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) {
		known[EnvName(f.Name)] = true
		if v := secretFileEnv(f); v != "" {
			secret[v] = true
		}
	})
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case !strings.HasPrefix(k, Prefix) || known[k]:
		case secret[k]:
			secretsSet = append(secretsSet, k)
		default:
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	sort.Strings(secretsSet)
	return unknown, secretsSet
}

// File is the configuration file that was read, or "".
func (e *Effective) File() string { return e.file }

// PrintRequested reports whether -print-config was given: the binary
// prints the configuration (WriteYAML) and exits instead of running.
func (e *Effective) PrintRequested() bool { return e.print }

// Source is where the value of the flag named name came from.
func (e *Effective) Source(name string) Source { return e.sources[name] }

// UnknownEnv lists the VIGIL_ environment variables that match no flag,
// sorted: this command ignores them. The variables of secrets that
// components read directly (VIGIL_KAFKA_SASL_PASSWORD, the fallback of
// -kafka.sasl.password-file) are not listed.
func (e *Effective) UnknownEnv() []string { return e.unknown }

// isBool reports whether f is a boolean flag (given without a value).
func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// funcDefault finds "(default X)" in a flag's help text.
var funcDefault = regexp.MustCompile(`\(default ([^()]*)\)`)

// value is the string value of f: what it was last set from for flags
// made with flag.Func or flag.BoolFunc, whose values cannot be read back
// (for those never set, the "(default X)" of the help text), and the
// flag's own String otherwise.
func value(f *flag.Flag, raw map[string]string) string {
	switch reflect.TypeOf(f.Value).String() {
	case "flag.funcValue", "flag.boolFuncValue":
		if s, ok := raw[f.Name]; ok {
			return s
		}
		if m := funcDefault.FindAllStringSubmatch(f.Usage, -1); m != nil {
			return m[len(m)-1][1]
		}
		return f.DefValue
	}
	return f.Value.String()
}

package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

// Prefix is the prefix of every environment variable Vigil reads.
const Prefix = "VIGIL_"

// EnvName returns the environment variable that sets the flag named name:
// Prefix followed by the name in upper case with '.' and '-' turned into
// '_'. For example "kafka.brokers" is VIGIL_KAFKA_BROKERS.
func EnvName(name string) string {
	r := strings.NewReplacer(".", "_", "-", "_")
	return Prefix + strings.ToUpper(r.Replace(name))
}

// ApplyEnv sets every flag of fs that was not given on the command line
// from its environment variable (see EnvName), when that variable is set.
// lookup is os.LookupEnv in production; tests pass a map's lookup. It must
// be called after fs.Parse. A value the flag rejects is an error naming the
// variable.
func ApplyEnv(fs *flag.FlagSet, lookup func(string) (string, bool)) error {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		name := EnvName(f.Name)
		v, ok := lookup(name)
		if !ok {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("environment variable %s: %w", name, err))
		}
	})
	return errors.Join(errs...)
}

// Validator is implemented by every component Config.
type Validator interface {
	Validate() error
}

// Validate validates every config and joins their errors.
func Validate(cfgs ...Validator) error {
	var errs []error
	for _, c := range cfgs {
		if err := c.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// StringList is a flag.Value holding a comma-separated list, such as a list
// of brokers or topics. Empty elements are dropped.
type StringList []string

var _ flag.Value = (*StringList)(nil)

// String returns the list joined with commas.
func (l *StringList) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, ",")
}

// Set replaces the list with the comma-separated elements of s.
func (l *StringList) Set(s string) error {
	*l = (*l)[:0]
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			*l = append(*l, e)
		}
	}
	return nil
}

// Parse parses args into fs, then applies the VIGIL_ environment variables
// to the flags not given (see ApplyEnv). Binaries use Load, which adds the
// configuration file and -print-config.
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	return ApplyEnv(fs, os.LookupEnv)
}

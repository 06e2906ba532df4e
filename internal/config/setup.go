package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// Setup is the start of every Vigil binary: it loads the configuration
// (Load: flags, VIGIL_ variables, the -config file), refuses stray
// arguments, prints the effective configuration when -print-config asks,
// and validates. proceed is false when the binary should exit now, with
// code: 0 after -h or -print-config of a valid configuration, 2 for bad
// arguments or configuration, 1 when the configuration cannot be printed.
// Messages go to stderr, prefixed with the flag set's name.
func Setup(fs *flag.FlagSet, args []string, stdout, stderr io.Writer, validate func() error) (code int, proceed bool) {
	eff, err := Load(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		return 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected arguments %q\n", fs.Name(), fs.Args())
		return 2, false
	}
	if eff.PrintRequested() {
		if err := eff.WriteYAML(stdout); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
			return 1, false
		}
	}
	if err := validate(); err != nil {
		fmt.Fprintf(stderr, "%s: invalid configuration: %v\n", fs.Name(), err)
		return 2, false
	}
	if eff.PrintRequested() {
		return 0, false
	}
	return 0, true
}

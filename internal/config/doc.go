// Package config holds Vigil's one configuration pattern.
//
// Every component has a Config struct, a RegisterFlags(*flag.FlagSet)
// method that holds the defaults and help text in one place, and a
// Validate() error method. A binary registers the configs of its
// components on one FlagSet and calls Load, which
//
//   - registers -config FILE (also VIGIL_CONFIG) and -print-config,
//   - parses the command line,
//   - sets every flag not given there from its VIGIL_… environment
//     variable (see EnvName),
//   - and sets every flag given by neither from the YAML file, whose
//     nested keys mirror the flag names (kafka: {brokers: [...]} is
//     -kafka.brokers).
//
// The precedence is flag > env > file > default. A file key that names no
// flag, or a value the flag rejects, is an error naming the file, line and
// key. Validation runs last, in the binary (Validate joins the errors of
// several configs). With -print-config the binary writes the effective
// configuration (Effective.WriteYAML: secrets masked, each value's source
// as a comment) and exits. Example generates the documented example files
// in deploy/config/. docs/configuration.md describes the rules for
// operators.
//
// The package knows nothing of the components: it works on whatever flags
// a FlagSet holds, so a component's new flag is at once a file key, a
// variable and a line of -print-config. Flags whose names end in password,
// passphrase, secret or token are masked, as are those marked with
// MarkSecret.
package config

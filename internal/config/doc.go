// Package config holds Vigil's one configuration pattern.
//
// Every component has a Config struct with yaml tags, a
// RegisterFlags(*flag.FlagSet) method that holds the defaults and help text
// in one place, and a Validate() error method. A binary registers the
// configs of its components on one FlagSet, parses the command line, then
// calls ApplyEnv so that VIGIL_… environment variables override the
// defaults of every flag not given on the command line (flag > env >
// default), which is what containers need. Validation runs last.
package config

package logging

import (
	"flag"
	"fmt"
	"io"
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Config selects the log level and encoding.
type Config struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
	// Format is auto, json or console. auto (the default) picks console when
	// stderr is a terminal and JSON otherwise.
	Format string `yaml:"format"`
}

// RegisterFlags registers the log flags with their defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.Level, "log.level", "info", "Log level: debug, info, warn or error.")
	f.StringVar(&c.Format, "log.format", "auto", "Log encoding: auto (console on a terminal, else json), json or console.")
}

// Validate reports whether the level and format are known.
func (c *Config) Validate() error {
	if _, err := zapcore.ParseLevel(c.Level); err != nil {
		return fmt.Errorf("log.level: %w", err)
	}
	switch c.Format {
	case "auto", "json", "console":
		return nil
	}
	return fmt.Errorf("log.format: %q is not auto, json or console", c.Format)
}

// New returns a logger writing to w (os.Stderr in the binaries). The
// console encoding is chosen for "auto" when w is a terminal.
func New(c Config, w io.Writer) (*zap.Logger, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	level, _ := zapcore.ParseLevel(c.Level)
	format := c.Format
	if format == "auto" {
		format = "json"
		if isTerminal(w) {
			format = "console"
		}
	}
	var enc zapcore.Encoder
	if format == "console" {
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeLevel = zapcore.CapitalColorLevelEncoder
		enc = zapcore.NewConsoleEncoder(ec)
	} else {
		ec := zap.NewProductionEncoderConfig()
		ec.TimeKey = "ts"
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewJSONEncoder(ec)
	}
	core := zapcore.NewCore(enc, zapcore.AddSync(w), level)
	return zap.New(core, zap.ErrorOutput(zapcore.AddSync(w))), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Err is zap.Error, re-exported so that mains need not import zap for it.
func Err(err error) zap.Field { return zap.Error(err) }

// String is zap.String, re-exported for mains.
func String(k, v string) zap.Field { return zap.String(k, v) }

// Strings is zap.Strings, re-exported for mains.
func Strings(k string, v []string) zap.Field { return zap.Strings(k, v) }

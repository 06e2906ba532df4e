package backtest

import (
	"flag"
	"io"
	"testing"

	"github.com/vigil-stream/vigil/internal/dynthreshold"
)

// The backtest's own defaults apply, show as the flags' defaults, and
// flags still override them; everything else is the consumer's default.
func TestDefaults(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("backtest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.RegisterFlags(fs)
	th := c.Detect.Threshold
	if th.SmoothingSpan != 10 || th.Windows != 15 || th.P != 0.05 {
		t.Fatalf("backtest threshold defaults: span %d, windows %d, p %v", th.SmoothingSpan, th.Windows, th.P)
	}
	for _, d := range Defaults {
		if got := fs.Lookup(d.Flag).DefValue; got != d.Value {
			t.Errorf("%s: default shown as %q, want %q", d.Flag, got, d.Value)
		}
	}
	consumer := dynthreshold.DefaultConfig()
	th.SmoothingSpan, th.Windows, th.P = consumer.SmoothingSpan, consumer.Windows, consumer.P
	if th != consumer {
		t.Errorf("backtest departs from the consumer's threshold defaults beyond Defaults:\n%+v\n%+v", th, consumer)
	}
	if err := fs.Parse([]string{"-threshold.smoothing-span=105"}); err != nil {
		t.Fatal(err)
	}
	if c.Detect.Threshold.SmoothingSpan != 105 {
		t.Errorf("flag did not override the backtest default")
	}
	if err := c.Detect.Validate(); err != nil {
		t.Errorf("backtest defaults invalid: %v", err)
	}
}

package detect

import (
	"errors"
	"flag"
	"fmt"

	"github.com/vigil-stream/vigil/internal/dynthreshold"
)

// Order policies for a reading older than the series' last one.
const (
	OutOfOrderReject = "reject" // the consumer dead-letters it
	OutOfOrderAccept = "accept" // it is processed like any other
)

// Gap policies.
const (
	GapReprime = "reprime" // re-prime the LSTM from the retained readings; keep the threshold
	GapReset   = "reset"   // zero the LSTM and restart the threshold's warm-up
)

// Config holds the detection policies and the default threshold rule.
type Config struct {
	// Threshold is the default dynamic threshold configuration; a model's
	// own rule (model.ThresholdRule) overrides the rule and its parameters.
	Threshold dynthreshold.Config `yaml:"threshold"`
	// Retain is the number of recent readings kept per series for
	// re-priming. Default 64.
	Retain int `yaml:"retain"`
	// OutOfOrder is reject or accept. Default reject.
	OutOfOrder string `yaml:"out_of_order"`
	// GapFactor: a reading more than GapFactor times the series' usual
	// interval after the previous one triggers GapPolicy; 0 disables.
	// Default 20.
	GapFactor float64 `yaml:"gap_factor"`
	// GapPolicy is reprime or reset. Default reprime.
	GapPolicy string `yaml:"gap_policy"`
	// MaxSeries caps the live series of an instance (all its partitions);
	// readings of further new series are rejected. 0 means no cap.
	// Default 100000.
	MaxSeries int `yaml:"max_series"`
}

// RegisterFlags registers the detection flags (and the threshold's).
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	c.Threshold.RegisterFlags(f)
	f.IntVar(&c.Retain, "detect.retain", 64, "Recent readings kept per series to re-prime the LSTM after a model swap or a gap.")
	f.StringVar(&c.OutOfOrder, "detect.out-of-order", OutOfOrderReject, "A reading older than its series' last one: reject (dead-letter) or accept.")
	f.Float64Var(&c.GapFactor, "detect.gap-factor", 20, "A gap longer than this many usual intervals triggers detect.gap-policy; 0 disables.")
	f.StringVar(&c.GapPolicy, "detect.gap-policy", GapReprime, "After a gap: reprime (LSTM from retained readings) or reset (LSTM and threshold warm up again).")
	f.IntVar(&c.MaxSeries, "detect.max-series", 100000, "Cap on live series per instance; readings of further new series are dead-lettered. 0: no cap.")
}

// DefaultConfig returns the registered defaults.
func DefaultConfig() Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("", flag.ContinueOnError))
	return c
}

// Validate checks the settings.
func (c *Config) Validate() error {
	var errs []error
	if err := c.Threshold.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Retain < 1 || c.Retain > 100000 {
		errs = append(errs, fmt.Errorf("detect.retain %d: want 1 to 100000", c.Retain))
	}
	if c.OutOfOrder != OutOfOrderReject && c.OutOfOrder != OutOfOrderAccept {
		errs = append(errs, fmt.Errorf("detect.out-of-order %q: want reject or accept", c.OutOfOrder))
	}
	if c.GapPolicy != GapReprime && c.GapPolicy != GapReset {
		errs = append(errs, fmt.Errorf("detect.gap-policy %q: want reprime or reset", c.GapPolicy))
	}
	if c.GapFactor < 0 || (c.GapFactor > 0 && c.GapFactor < 1) {
		errs = append(errs, errors.New("detect.gap-factor must be 0 (off) or at least 1"))
	}
	if c.MaxSeries < 0 {
		errs = append(errs, errors.New("detect.max-series must be ≥ 0"))
	}
	return errors.Join(errs...)
}

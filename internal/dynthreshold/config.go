package dynthreshold

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"time"
)

// ErrInvalidReading is returned (wrapped) for a reading whose value or error
// is not finite, or whose error is negative. The detector's state is left
// unchanged, so the caller may skip the reading and go on.
var ErrInvalidReading = errors.New("invalid reading")

// ErrIncompatibleState is returned (wrapped) when an encoded state cannot be
// restored under the given configuration: its window geometry (batch size,
// number of batches) or rule differs. The caller starts the series afresh.
var ErrIncompatibleState = errors.New("incompatible state")

// Rule selects how the threshold is computed from the rolling window.
type Rule string

// The rules. Telemanom is the default; the others are the simpler rules of
// common practice, applied to the smoothed errors, upward only, without
// pruning.
const (
	// RuleTelemanom is Telemanom's nonparametric dynamic threshold with
	// inversion and pruning (see the package documentation).
	RuleTelemanom Rule = "telemanom"
	// RulePercentile flags smoothed errors above the Percentile-th
	// percentile of the window.
	RulePercentile Rule = "percentile"
	// RuleMeanSigma flags smoothed errors above μ + Sigma·σ of the window.
	RuleMeanSigma Rule = "meansigma"
	// RuleIQR flags smoothed errors above Q3 + IQRK·(Q3 − Q1) of the window.
	RuleIQR Rule = "iqr"
	// RuleFixed flags smoothed errors above a constant: Fixed if positive,
	// else the prior's 99.9th percentile (its maximum if that is zero).
	RuleFixed Rule = "fixed"
)

var rules = []Rule{RuleTelemanom, RulePercentile, RuleMeanSigma, RuleIQR, RuleFixed}

func (r Rule) code() byte {
	for i, x := range rules {
		if x == r {
			return byte(i)
		}
	}
	return 255
}

// String returns the rule's name.
func (r Rule) String() string { return string(r) }

// MarshalText implements encoding.TextMarshaler.
func (r Rule) MarshalText() ([]byte, error) { return []byte(r), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Rule) UnmarshalText(b []byte) error {
	for _, x := range rules {
		if string(b) == string(x) {
			*r = x
			return nil
		}
	}
	return fmt.Errorf("unknown threshold rule %q (want one of %v)", b, rules)
}

// Config configures a Detector. Register its flags and defaults with
// RegisterFlags; DefaultConfig returns the defaults.
type Config struct {
	// Rule is the threshold rule (default telemanom).
	Rule Rule `yaml:"rule"`

	// Window geometry: the threshold is recomputed every Batch readings
	// (default 70) over the last h = Batch·Windows readings (default 30
	// batches, h = 2,100).
	Batch   int `yaml:"batch"`
	Windows int `yaml:"windows"`

	SmoothingSpan int     `yaml:"smoothing_span"` // EWMA span of the errors (105)
	ErrorBuffer   int     `yaml:"error_buffer"`   // Telemanom's error_buffer (100)
	P             float64 `yaml:"p"`              // pruning separation (0.13)
	MinSpread     float64 `yaml:"min_spread"`     // fraction of the values' 95th−5th percentile range (0.05)
	MinError      float64 `yaml:"min_error"`      // absolute floor on a window's largest smoothed error (0.05)
	Inverse       bool    `yaml:"inverse"`        // also flag drops, via inverted errors (true)

	WarmUp      int     `yaml:"warmup"`       // readings before the window rules take over (420)
	WarmUpSigma float64 `yaml:"warmup_sigma"` // k of the prior's μ + kσ during warm-up (4)

	Percentile float64 `yaml:"percentile"` // RulePercentile (99)
	Sigma      float64 `yaml:"sigma"`      // RuleMeanSigma (3)
	IQRK       float64 `yaml:"iqr_k"`      // RuleIQR (3)
	Fixed      float64 `yaml:"fixed"`      // RuleFixed; 0 (default) takes it from the prior

	Episode EpisodeConfig `yaml:"episode"`
}

// EpisodeConfig groups flagged readings into episodes. A count of zero or a
// zero duration disables that condition. Defaults: Quiet 100 readings,
// everything else 0.
type EpisodeConfig struct {
	// Quiet readings (and QuietFor of event time) without a flag close an
	// episode.
	Quiet    int           `yaml:"quiet"`
	QuietFor time.Duration `yaml:"quiet_for"`
	// An episode stays open at least MinReadings readings (and MinFor of
	// event time) from its first.
	MinReadings int           `yaml:"min_readings"`
	MinFor      time.Duration `yaml:"min_for"`
	// For Cooldown readings (and CooldownFor of event time) after an
	// episode closes, flagged readings open no new episode.
	Cooldown    int           `yaml:"cooldown"`
	CooldownFor time.Duration `yaml:"cooldown_for"`
}

// RegisterFlags registers the configuration's flags, prefixed "threshold.",
// on f and sets c to their defaults. It is the one place where defaults and
// help live.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	c.Rule = RuleTelemanom
	f.TextVar(&c.Rule, "threshold.rule", RuleTelemanom, "threshold rule: telemanom, percentile, meansigma, iqr or fixed")
	f.IntVar(&c.Batch, "threshold.batch", 70, "readings between threshold recomputations (Telemanom batch_size)")
	f.IntVar(&c.Windows, "threshold.windows", 30, "batches in the rolling window; h = batch × windows (Telemanom window_size)")
	f.IntVar(&c.SmoothingSpan, "threshold.smoothing-span", 105, "EWMA span of the errors (Telemanom: 70 × 30 × 0.05); 1 disables smoothing")
	f.IntVar(&c.ErrorBuffer, "threshold.error-buffer", 100, "readings grouped around an exceedance (Telemanom error_buffer)")
	f.Float64Var(&c.P, "threshold.prune-p", 0.13, "pruning: minimum relative drop between an anomaly's peak and the largest normal error (Telemanom p)")
	f.Float64Var(&c.MinSpread, "threshold.min-spread", 0.05, "flag only smoothed errors above this fraction of the window values' 95th−5th percentile range")
	f.Float64Var(&c.MinError, "threshold.min-error", 0.05, "flag nothing in a window whose largest smoothed error is not above this (error units; Telemanom's values are scaled to [-1, 1]); 0 disables")
	f.BoolVar(&c.Inverse, "threshold.inverse", true, "telemanom: also flag drops of the smoothed error (inverted errors)")
	f.IntVar(&c.WarmUp, "threshold.warmup", 420, "readings in the window before its threshold replaces the prior's (6 batches: the first window in which one buffered sequence can cover less than half)")
	f.Float64Var(&c.WarmUpSigma, "threshold.warmup-sigma", 4, "during warm-up flag smoothed errors above max(prior mean + k·std, prior 99.9th percentile)")
	f.Float64Var(&c.Percentile, "threshold.percentile", 99, "percentile rule: the window percentile (0-100)")
	f.Float64Var(&c.Sigma, "threshold.sigma", 3, "meansigma rule: k of μ + kσ")
	f.Float64Var(&c.IQRK, "threshold.iqr-k", 3, "iqr rule: k of Q3 + k·IQR")
	f.Float64Var(&c.Fixed, "threshold.fixed", 0, "fixed rule: the threshold; 0 takes the prior's 99.9th percentile")
	f.IntVar(&c.Episode.Quiet, "threshold.episode.quiet", 100, "unflagged readings that close an episode")
	f.DurationVar(&c.Episode.QuietFor, "threshold.episode.quiet-for", 0, "event time without a flag that closes an episode (0: readings only)")
	f.IntVar(&c.Episode.MinReadings, "threshold.episode.min-readings", 0, "readings an episode stays open at least")
	f.DurationVar(&c.Episode.MinFor, "threshold.episode.min-for", 0, "event time an episode stays open at least")
	f.IntVar(&c.Episode.Cooldown, "threshold.episode.cooldown", 0, "readings after a close during which flags open no new episode")
	f.DurationVar(&c.Episode.CooldownFor, "threshold.episode.cooldown-for", 0, "event time after a close during which flags open no new episode")
}

// DefaultConfig returns the defaults registered by RegisterFlags.
func DefaultConfig() Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("defaults", flag.ContinueOnError))
	return c
}

// History returns h, the number of readings in the rolling window.
func (c Config) History() int { return c.Batch * c.Windows }

// Validate reports the first problem with c.
func (c Config) Validate() error {
	pos := func(name string, v float64) error {
		if !(v >= 0) || math.IsInf(v, 0) {
			return fmt.Errorf("threshold: %s = %v, want a finite value ≥ 0", name, v)
		}
		return nil
	}
	switch {
	case c.Rule.code() == 255:
		return fmt.Errorf("threshold: unknown rule %q", c.Rule)
	case c.Batch < 1 || c.Batch > math.MaxUint16:
		return fmt.Errorf("threshold: batch = %d, want 1..%d", c.Batch, math.MaxUint16)
	case c.Windows < 1 || c.Windows > math.MaxUint16 || c.History() > 1<<20:
		return fmt.Errorf("threshold: windows = %d, want ≥ 1 with batch × windows ≤ %d", c.Windows, 1<<20)
	case c.SmoothingSpan < 1:
		return fmt.Errorf("threshold: smoothing span = %d, want ≥ 1", c.SmoothingSpan)
	case c.ErrorBuffer < 1:
		return fmt.Errorf("threshold: error buffer = %d, want ≥ 1", c.ErrorBuffer)
	case !(c.P >= 0 && c.P < 1):
		return fmt.Errorf("threshold: prune p = %v, want 0 ≤ p < 1", c.P)
	case c.WarmUp < c.Batch || c.WarmUp > c.History():
		return fmt.Errorf("threshold: warm-up = %d readings, want between batch (%d) and h (%d)", c.WarmUp, c.Batch, c.History())
	case !(c.Percentile > 0 && c.Percentile <= 100):
		return fmt.Errorf("threshold: percentile = %v, want 0 < q ≤ 100", c.Percentile)
	case c.Episode.Quiet < 0 || c.Episode.MinReadings < 0 || c.Episode.Cooldown < 0:
		return fmt.Errorf("threshold: episode counts must be ≥ 0: %+v", c.Episode)
	case c.Episode.QuietFor < 0 || c.Episode.MinFor < 0 || c.Episode.CooldownFor < 0:
		return fmt.Errorf("threshold: episode durations must be ≥ 0: %+v", c.Episode)
	case c.Episode.Quiet == 0 && c.Episode.QuietFor == 0:
		return errors.New("threshold: episode quiet period must be positive in readings or event time")
	}
	for _, x := range []struct {
		n string
		v float64
	}{{"min spread", c.MinSpread}, {"min error", c.MinError}, {"warm-up sigma", c.WarmUpSigma}, {"sigma", c.Sigma}, {"iqr k", c.IQRK}, {"fixed", c.Fixed}} {
		if err := pos(x.n, x.v); err != nil {
			return err
		}
	}
	return nil
}

// Prior summarises the model's smoothed validation errors, as stored with
// the model artifact. It sets the threshold until the window holds WarmUp
// readings, and the fixed rule's threshold.
type Prior struct {
	Count int64   // number of validation errors summarised
	Mean  float64 // mean of the smoothed validation errors
	Std   float64 // population standard deviation
	P99   float64 // 99th percentile
	P999  float64 // 99.9th percentile
	Max   float64 // maximum
}

// IsZero reports whether p carries no statistics.
func (p Prior) IsZero() bool { return p == Prior{} }

// Validate reports whether p's statistics are finite and non-negative.
func (p Prior) Validate() error {
	for _, v := range []float64{p.Mean, p.Std, p.P99, p.P999, p.Max} {
		if !(v >= 0) || math.IsInf(v, 0) {
			return fmt.Errorf("threshold: prior %+v: statistics must be finite and ≥ 0", p)
		}
	}
	if p.Count < 0 {
		return fmt.Errorf("threshold: prior count %d < 0", p.Count)
	}
	return nil
}

// PriorFrom summarises smoothed validation errors into a Prior. It returns
// an error if an error is not finite or negative.
func PriorFrom(smoothed []float64) (Prior, error) {
	if len(smoothed) == 0 {
		return Prior{}, nil
	}
	s := make([]float64, len(smoothed))
	copy(s, smoothed)
	for i, v := range s {
		if !(v >= 0) || math.IsInf(v, 0) {
			return Prior{}, fmt.Errorf("validation error %d = %v: %w", i, v, ErrInvalidReading)
		}
	}
	m := mean(s)
	sortFloats(s)
	return Prior{
		Count: int64(len(s)),
		Mean:  m,
		Std:   std(s, m),
		P99:   percentileSorted(s, 99),
		P999:  percentileSorted(s, 99.9),
		Max:   s[len(s)-1],
	}, nil
}

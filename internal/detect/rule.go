package detect

import (
	"flag"
	"fmt"
	"slices"

	"github.com/vigil-stream/vigil/internal/dynthreshold"
	"github.com/vigil-stream/vigil/internal/model"
)

// ThresholdConfig returns the threshold configuration for a model: base,
// overridden by the model's rule and parameters. Parameter names are
// dynthreshold's flag names without the "threshold." prefix ("percentile",
// "batch", "episode.quiet", …) and values their flag syntax. An unknown
// name or a bad value is an error: a model that asks for a rule the
// consumer cannot apply is rejected rather than run with another.
func ThresholdConfig(base dynthreshold.Config, r model.ThresholdRule) (dynthreshold.Config, error) {
	if r.Rule == "" && len(r.Params) == 0 {
		return base, nil
	}
	var cfg dynthreshold.Config
	fs := flag.NewFlagSet("model threshold", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	// The flags point into cfg; start from base, not from the defaults.
	cfg = base
	cfg.Episode = base.Episode
	set := func(name, value string) error {
		if fs.Lookup("threshold."+name) == nil {
			return fmt.Errorf("threshold rule of the model: unknown parameter %q", name)
		}
		if err := fs.Set("threshold."+name, value); err != nil {
			return fmt.Errorf("threshold rule of the model: %s=%q: %w", name, value, err)
		}
		return nil
	}
	if r.Rule != "" {
		if err := set("rule", r.Rule); err != nil {
			return base, err
		}
	}
	keys := make([]string, 0, len(r.Params))
	for k := range r.Params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := set(k, r.Params[k]); err != nil {
			return base, err
		}
	}
	if err := cfg.Validate(); err != nil {
		return base, fmt.Errorf("threshold rule of the model: %w", err)
	}
	return cfg, nil
}

// PriorFor returns the cold-start statistics of series id under m, in the
// detector's units (smoothed errors in units of the series' spread, see
// Engine): the smoothed validation-error prior the trainer stored (the
// series' own, else the pooled one); for a model without one, a prior
// derived from the raw validation-error statistics, divided by the
// series' spread. Smoothing shrinks the spread of errors, so raw
// statistics make a conservative (higher) warm-up threshold; their P99.9
// is taken as the maximum, which the artifact keeps.
func PriorFor(m *model.Model, id string) dynthreshold.Prior {
	if p, _ := m.PriorFor(id); p.Count > 0 {
		return dynthreshold.Prior(p)
	}
	st, ok := m.ErrorsFor(id)
	if !ok {
		st = m.Training.ErrorsAll
	}
	if st.N == 0 {
		return dynthreshold.Prior{}
	}
	sp := m.ScalerFor(id).Spread[0]
	return dynthreshold.Prior{Count: int64(st.N), Mean: st.Mean / sp, Std: st.Std / sp, P99: st.P99 / sp, P999: st.Max / sp, Max: st.Max / sp}
}

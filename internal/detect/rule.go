package detect

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vigil-stream/vigil/internal/dynthreshold"
	"github.com/vigil-stream/vigil/internal/model"
)

// ThresholdConfig returns the threshold configuration for a model: base,
// overridden by the model's rule and parameters. Parameter names are the
// yaml keys of dynthreshold.Config ("percentile", "sigma", "batch", …;
// "episode.quiet" for the episode settings), values their YAML scalars. An
// unknown name or a bad value is an error: a model that asks for a rule the
// consumer cannot apply is rejected rather than run with another.
func ThresholdConfig(base dynthreshold.Config, r model.ThresholdRule) (dynthreshold.Config, error) {
	cfg := base
	if r.Rule == "" && len(r.Params) == 0 {
		return cfg, nil
	}
	var doc bytes.Buffer
	if r.Rule != "" {
		fmt.Fprintf(&doc, "rule: %s\n", r.Rule)
	}
	keys := make([]string, 0, len(r.Params))
	for k := range r.Params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var episode []string
	for _, k := range keys {
		v := r.Params[k]
		if strings.ContainsAny(v, "\n:#{}[]") || strings.ContainsAny(k, "\n: ") {
			return base, fmt.Errorf("threshold parameter %q=%q: not a plain scalar", k, v)
		}
		if sub, ok := strings.CutPrefix(k, "episode."); ok {
			episode = append(episode, fmt.Sprintf("  %s: %s\n", sub, v))
			continue
		}
		fmt.Fprintf(&doc, "%s: %s\n", k, v)
	}
	if len(episode) > 0 {
		doc.WriteString("episode:\n")
		for _, l := range episode {
			doc.WriteString(l)
		}
	}
	dec := yaml.NewDecoder(&doc)
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return base, fmt.Errorf("threshold rule of the model: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return base, fmt.Errorf("threshold rule of the model: %w", err)
	}
	return cfg, nil
}

// PriorFor returns the cold-start statistics of series id under m: its own
// validation errors if m was trained on it, else those of all series.
//
// The artifact keeps statistics of the raw errors |y − ŷ|; the detector's
// prior describes smoothed errors. Smoothing shrinks the spread, so raw
// statistics make a conservative (higher) warm-up threshold: a new series
// raises fewer false alarms before its own window takes over. P99.9 is
// taken as the maximum, which the artifact keeps.
func PriorFor(m *model.Model, id string) dynthreshold.Prior {
	st, ok := m.ErrorsFor(id)
	if !ok {
		st = m.Training.ErrorsAll
	}
	if st.N == 0 {
		return dynthreshold.Prior{}
	}
	return dynthreshold.Prior{Count: int64(st.N), Mean: st.Mean, Std: st.Std, P99: st.P99, P999: st.Max, Max: st.Max}
}

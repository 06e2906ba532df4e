package trainer

import (
	"fmt"
	"strings"

	"github.com/vigil-stream/vigil/internal/report"
)

// WriteReport renders the run as a self-contained HTML report (package
// report) at path.
func WriteReport(path string, cfg *Config, sum *Summary) error {
	return report.WriteFile(path, ReportRun(cfg, sum))
}

// ReportRun maps a run's summary onto the report's input.
func ReportRun(cfg *Config, sum *Summary) *report.Run {
	r := &report.Run{
		Title:    "Vigil training run",
		Started:  sum.Started,
		Finished: sum.Finished,
		Source:   sum.Source,
		Settings: []report.KV{
			{Key: "architecture", Value: fmt.Sprintf("LSTM %v → dense", cfg.Train.Hidden)},
			{Key: "features", Value: features(cfg)},
			{Key: "training", Value: fmt.Sprintf("stateful TBPTT: %d streams × %d steps, Adam lr %g, clip-norm %g, at most %d epochs, patience %d, seed %d",
				cfg.Train.Batch, cfg.Train.SeqLen, cfg.Train.LR, cfg.Train.ClipNorm, cfg.Train.Epochs, cfg.Train.Patience, cfg.Train.Seed)},
			{Key: "held-out slice", Value: fmt.Sprintf("newest %.0f%% of each series", 100*cfg.Train.ValFraction)},
			{Key: "threshold", Value: fmt.Sprintf("%s, recomputed every %d readings over %d", cfg.Detect.Threshold.Rule, cfg.Detect.Threshold.Batch, cfg.Detect.Threshold.History())},
			{Key: "promotion", Value: fmt.Sprintf("at least as good as the model in service (error tolerance %g); force %v; dry run %v", cfg.Tolerance, cfg.Force, cfg.DryRun)},
			{Key: "model store", Value: fmt.Sprintf("%s (keeps %d versions)", cfg.Store.Dir, cfg.Store.Keep)},
		},
	}
	if n := len(sum.Dropped); n > 0 {
		var parts []string
		for _, k := range sortedKeys(sum.Dropped) {
			parts = append(parts, fmt.Sprintf("%d %s", sum.Dropped[k], k))
		}
		r.Notes = append(r.Notes, "Readings left out of training: "+strings.Join(parts, ", ")+".")
	}
	for _, m := range sum.Models {
		rm := report.Model{
			Name: m.Name, Version: m.Version, Decision: string(m.Decision), Reason: m.Reason,
			BestEpoch: m.BestEpoch, Duration: m.Duration,
			Champion: metrics(m.Champion), Challenger: metrics(m.Challenger),
		}
		if m.Err != "" {
			rm.Reason = m.Err
			r.Notes = append(r.Notes, fmt.Sprintf("Model %s failed: %s. The version in service keeps serving.", m.Name, m.Err))
		}
		for _, e := range m.Loss {
			rm.Loss = append(rm.Loss, report.Epoch{Train: e.Train, Validation: e.Validation})
		}
		for _, s := range m.Series {
			rs := report.Series{ID: s.ID, Readings: s.Read, Used: s.Used, ValMAE: s.ValMAE, From: s.From, To: s.To}
			for _, sp := range s.Excluded {
				rs.Excluded = append(rs.Excluded, report.Span{From: sp.From, To: sp.To, Why: sp.Why, Readings: sp.Readings})
			}
			if p := s.Plot; p != nil && len(p.Times) > 0 {
				rs.Times, rs.Actual, rs.Predicted = p.Times, p.Actual, p.Predicted
				rs.SmoothedError, rs.Threshold, rs.Flagged = p.Smoothed, p.Threshold, p.Flagged
			}
			rm.Series = append(rm.Series, rs)
		}
		r.Models = append(r.Models, rm)
	}
	for _, s := range sum.Skipped {
		r.Skipped = append(r.Skipped, report.Skipped{ID: s.ID, Reason: s.Reason})
	}
	return r
}

func metrics(m *Metrics) *report.Metrics {
	if m == nil {
		return nil
	}
	return &report.Metrics{ValMAE: m.ValMAE, ValRMSE: m.ValRMSE, FalseAlarmsPerDay: m.FalseAlarmsPerDay, Flagged: m.Flagged}
}

func features(cfg *Config) string {
	f := []string{"value"}
	if len(cfg.Train.Fields) > 0 {
		f = append(f, "fields "+strings.Join(cfg.Train.Fields, ", "))
	}
	if cfg.Train.Calendar {
		f = append(f, "time of day and day of week")
	}
	return strings.Join(f, "; ")
}

package trainer

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/vigil-stream/vigil/internal/config"
	"github.com/vigil-stream/vigil/internal/detect"
	"github.com/vigil-stream/vigil/internal/model"
	"github.com/vigil-stream/vigil/internal/modelstore"
)

// Config is a training run.
type Config struct {
	// Files are CSV files or NAB-layout directories to train from; when
	// empty, the input topics are replayed.
	Files config.StringList `yaml:"files"`
	// Topics are the input topics to replay (Kafka mode).
	Topics config.StringList `yaml:"topics"`
	// From and To bound the replay by record timestamp (RFC 3339); Last
	// sets From to now minus Last when From is empty. Default: the last 30
	// days up to now.
	From string        `yaml:"from"`
	To   string        `yaml:"to"`
	Last time.Duration `yaml:"last"`
	// EventsTopic and DLQTopic are the consumer's outputs: readings inside
	// its anomaly episodes (widened by Margin) and readings it
	// dead-lettered are not normal data. Empty skips that exclusion.
	EventsTopic string        `yaml:"events_topic"`
	DLQTopic    string        `yaml:"dlq_topic"`
	Margin      time.Duration `yaml:"margin"`
	// Labels is an optional NAB combined_windows.json of known anomalous
	// windows, keyed by series id.
	Labels string `yaml:"labels"`
	// Routing groups series into models as the consumer routes them:
	// series matching a route train the route's model together; the rest
	// train Default, or each its own model when PerSeries is set.
	Routing   detect.Routing `yaml:"routing"`
	PerSeries bool           `yaml:"per_series"`
	// MinReadings is the fewest normal readings a series needs to be
	// trained on. Default 500.
	MinReadings int `yaml:"min_readings"`
	// Force promotes challengers even when worse than the champion.
	Force bool `yaml:"force"`
	// DryRun trains and evaluates but publishes nothing.
	DryRun bool `yaml:"dry_run"`
	// Tolerance lets a challenger whose validation error is at most this
	// much worse (relative) still be promoted. Default 0.
	Tolerance float64 `yaml:"tolerance"`
	// Report and Summary are output paths; empty Summary writes the JSON
	// summary to stdout.
	Report  string `yaml:"report"`
	Summary string `yaml:"summary"`

	Train  model.TrainConfig `yaml:"train"`
	Detect detect.Config     `yaml:"detect"`
	Store  modelstore.Config `yaml:"store"`
}

// RegisterFlags registers the training run's flags.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	c.Topics = config.StringList{"sensors"}
	f.Var(&c.Files, "files", "CSV files or NAB-layout directories to train from, comma-separated; empty replays -topics from Kafka.")
	f.Var(&c.Topics, "topics", "Input topics to replay.")
	f.StringVar(&c.From, "from", "", "Replay readings from this time (RFC 3339); empty: now minus -last.")
	f.StringVar(&c.To, "to", "", "Replay readings up to this time (RFC 3339); empty: now.")
	f.DurationVar(&c.Last, "last", 30*24*time.Hour, "Replay this much history when -from is empty.")
	f.StringVar(&c.EventsTopic, "events-topic", "vigil.anomalies", "The consumer's anomaly events: readings inside its episodes are excluded; empty: no exclusion.")
	f.StringVar(&c.DLQTopic, "dlq-topic", "vigil.dlq", "The consumer's dead-letter topic: readings it dead-lettered are excluded; empty: no exclusion.")
	f.DurationVar(&c.Margin, "margin", time.Hour, "Time excluded before and after each anomaly episode.")
	f.StringVar(&c.Labels, "labels", "", "NAB combined_windows.json of known anomalous windows to exclude (keys are series ids).")
	c.Routing.RegisterFlags(f)
	f.BoolVar(&c.PerSeries, "per-series", false, "Train one model per series (named after it) for series no route matches, instead of -models.default.")
	f.IntVar(&c.MinReadings, "min-readings", 500, "Fewest normal readings a series needs; series with fewer are skipped with a warning.")
	f.BoolVar(&c.Force, "force", false, "Promote challengers even when they are worse than the model in service.")
	f.BoolVar(&c.DryRun, "dry-run", false, "Train and evaluate, publish nothing.")
	f.Float64Var(&c.Tolerance, "tolerance", 0, "Relative validation-error slack within which a challenger still counts as at least as good.")
	f.StringVar(&c.Report, "report", "", "Write the HTML report to this file.")
	f.StringVar(&c.Summary, "summary", "", "Write the JSON summary to this file instead of stdout.")
	c.Train.RegisterFlags(f)
	c.Detect.RegisterFlags(f)
	c.Store.RegisterFlags(f)
}

// Validate checks the run's settings.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Files) == 0 && len(c.Topics) == 0 {
		errs = append(errs, errors.New("nothing to train on: give -files or -topics"))
	}
	for name, v := range map[string]string{"-from": c.From, "-to": c.To} {
		if v != "" {
			if _, err := time.Parse(time.RFC3339, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
		}
	}
	if c.From == "" && c.Last <= 0 {
		errs = append(errs, errors.New("-last must be positive when -from is empty"))
	}
	if c.Margin < 0 || c.MinReadings < 1 || c.Tolerance < 0 {
		errs = append(errs, errors.New("-margin and -tolerance must be ≥ 0 and -min-readings ≥ 1"))
	}
	for _, v := range []config.Validator{&c.Routing, c.Train, &c.Detect, &c.Store} {
		if err := v.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Range returns the replay's time range.
func (c *Config) Range(now time.Time) (from, to time.Time) {
	to = now
	if c.To != "" {
		to, _ = time.Parse(time.RFC3339, c.To)
	}
	if c.From != "" {
		from, _ = time.Parse(time.RFC3339, c.From)
	} else {
		from = to.Add(-c.Last)
	}
	return from, to
}

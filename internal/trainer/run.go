package trainer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/vigil-stream/vigil/internal/detect"
	"github.com/vigil-stream/vigil/internal/dynthreshold"
	"github.com/vigil-stream/vigil/internal/model"
	"github.com/vigil-stream/vigil/internal/modelstore"
	"github.com/vigil-stream/vigil/internal/record"
)

// Decision is what became of a model.
type Decision string

// Decisions.
const (
	Promoted     Decision = "promoted"      // the challenger is in service now
	Forced       Decision = "forced"        // promoted by -force although worse
	KeptChampion Decision = "kept champion" // the challenger was worse
	DryRun       Decision = "not published (dry run)"
	Failed       Decision = "failed"
)

// Metrics compare models on the held-out slice.
type Metrics struct {
	ValMAE  float64 `json:"val_mae"`  // mean |y − ŷ| in the series' units, averaged over series
	ValRMSE float64 `json:"val_rmse"` // root mean squared error, averaged over series
	// FalseAlarms counts the alerts (episodes opened) on the held-out
	// slice, which is normal data; Flagged the readings flagged.
	FalseAlarms       int     `json:"false_alarms"`
	FalseAlarmsPerDay float64 `json:"false_alarms_per_day"`
	Flagged           int     `json:"flagged"`
	HeldOutReadings   int     `json:"held_out_readings"`
}

// SeriesResult is one series of a model.
type SeriesResult struct {
	ID       string      `json:"id"`
	Read     int         `json:"readings_read"`
	From     time.Time   `json:"from"`
	To       time.Time   `json:"to"`
	Used     int         `json:"readings_used"`
	Excluded []Span      `json:"excluded,omitempty"`
	ValMAE   float64     `json:"val_mae"`
	Plot     *SeriesPlot `json:"-"`
}

// SeriesPlot is the held-out slice of a series as the challenger saw it.
type SeriesPlot struct {
	Times               []time.Time
	Actual, Predicted   []float64
	Smoothed, Threshold []float64
	Flagged             []bool
}

// ModelResult is one model of a run.
type ModelResult struct {
	Name       string            `json:"name"`
	Version    int64             `json:"version,omitempty"`
	Decision   Decision          `json:"decision"`
	Reason     string            `json:"reason"`
	Champion   *Metrics          `json:"champion,omitempty"`
	Challenger *Metrics          `json:"challenger,omitempty"`
	Series     []SeriesResult    `json:"series"`
	Epochs     int               `json:"epochs"`
	BestEpoch  int               `json:"best_epoch"`
	Loss       []model.EpochLoss `json:"-"`
	Duration   time.Duration     `json:"-"`
	Path       string            `json:"path,omitempty"`
	Err        string            `json:"error,omitempty"`
}

// Skipped is a series not trained.
type Skipped struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// Summary is a whole run, as the JSON summary and the report show it.
type Summary struct {
	Command  string         `json:"command"`
	Source   string         `json:"source"`
	Started  time.Time      `json:"started"`
	Finished time.Time      `json:"finished"`
	Models   []ModelResult  `json:"models"`
	Skipped  []Skipped      `json:"skipped,omitempty"`
	Dropped  map[string]int `json:"excluded_readings"`
	Promoted int            `json:"promoted"`
}

// Sink receives every published model besides the store: the model topic
// (modelstore.PublishTopic). Nil for none.
type Sink func(ctx context.Context, m *model.Model) error

// Run trains, evaluates and (unless it is a dry run) publishes a model per
// group of data's series. It returns a summary even when some models
// failed; the error is then non-nil too.
func Run(ctx context.Context, cfg *Config, data *Data, store *modelstore.Store, sink Sink, logger *zap.Logger, progress func(name string, e model.EpochStats)) (*Summary, error) {
	sum := &Summary{Command: "train", Source: data.Source, Started: time.Now().UTC(), Dropped: data.Dropped}
	groups := map[string][]model.Series{}
	var names []string
	router, err := detect.NewRouter(cfg.Routing, func() map[string]*model.Model { return nil })
	if err != nil {
		return sum, err
	}
	for _, s := range data.Series {
		if len(s.Values) < cfg.MinReadings {
			sum.Skipped = append(sum.Skipped, Skipped{ID: s.ID,
				Reason: fmt.Sprintf("%d normal readings, fewer than -min-readings %d", len(s.Values), cfg.MinReadings)})
			logger.Warn("series skipped: too little data", zap.String("series", s.ID), zap.Int("readings", len(s.Values)))
			continue
		}
		name := groupName(cfg, router, s.ID, data.Tags[s.ID])
		if name == "" {
			sum.Skipped = append(sum.Skipped, Skipped{ID: s.ID, Reason: "no route or default model applies"})
			continue
		}
		if _, ok := groups[name]; !ok {
			names = append(names, name)
		}
		groups[name] = append(groups[name], s)
	}
	if len(groups) == 0 {
		sum.Finished = time.Now().UTC()
		return sum, fmt.Errorf("%w: no series with at least %d normal readings", ErrNoData, cfg.MinReadings)
	}
	slices.Sort(names)
	var errs []error
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		mr, err := trainOne(ctx, cfg, name, groups[name], data, store, sink, logger, progress)
		if err != nil {
			mr.Decision, mr.Err = Failed, err.Error()
			errs = append(errs, fmt.Errorf("model %s: %w", name, err))
			logger.Error("model failed; the one in service keeps serving", zap.String("model", name), zap.Error(err))
		}
		if mr.Decision == Promoted || mr.Decision == Forced {
			sum.Promoted++
		}
		sum.Models = append(sum.Models, mr)
	}
	sum.Finished = time.Now().UTC()
	return sum, errors.Join(errs...)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// groupName returns the model a series trains, as the consumer routes it
// (tag routes use the tags of the series' first reading; series read from
// files have none).
func groupName(cfg *Config, r *detect.Router, id string, tags map[string]string) string {
	name := r.Name(id, tags)
	if cfg.PerSeries && name == cfg.Routing.Default {
		n := strings.Trim(unsafeName.ReplaceAllString(id, "_"), "._-")
		if len(n) > 100 {
			n = n[:100]
		}
		return n
	}
	return name
}

func trainOne(ctx context.Context, cfg *Config, name string, series []model.Series, data *Data, store *modelstore.Store, sink Sink, logger *zap.Logger, progress func(string, model.EpochStats)) (ModelResult, error) {
	mr := ModelResult{Name: name}
	started := time.Now()
	log := logger.With(zap.String("model", name))
	log.Info("training", zap.Int("series", len(series)))
	net, scalers, rep, err := model.Train(ctx, cfg.Train, series, log, func(e model.EpochStats) {
		if progress != nil {
			progress(name, e)
		}
	})
	if err != nil {
		return mr, fmt.Errorf("train: %w", err)
	}
	mr.Epochs, mr.BestEpoch, mr.Duration = rep.Epochs, rep.BestEpoch, time.Since(started)
	for _, e := range rep.LossCurve {
		mr.Loss = append(mr.Loss, model.EpochLoss{Train: e.TrainLoss, Validation: e.ValLoss})
	}
	version := int64(1)
	if store != nil {
		if version, err = store.NextVersion(name); err != nil {
			return mr, err
		}
	}
	challenger, err := model.FromTraining(name, version, net, scalers, rep, "vigil trainer")
	if err != nil {
		return mr, err
	}
	// Evaluate the challenger (and fill its threshold priors) and the
	// champion the same way: the consumer's detection path over each series.
	chEval, err := evaluate(cfg, challenger, series, true)
	if err != nil {
		return mr, fmt.Errorf("evaluate the challenger: %w", err)
	}
	setPriors(challenger, chEval)
	mr.Challenger = &chEval.metrics
	var champion *model.Model
	if store != nil {
		champion, err = store.Current(name)
		if err != nil && !errors.Is(err, modelstore.ErrNotFound) {
			log.Warn("the model in service cannot be loaded; the challenger has no champion to beat", zap.Error(err))
		}
	}
	if champion != nil {
		if champion.Network.Inputs() != challenger.Network.Inputs() {
			log.Warn("the model in service takes other inputs; comparing by its own features")
		}
		chmp, err := evaluate(cfg, champion, series, false)
		if err != nil {
			return mr, fmt.Errorf("evaluate the champion: %w", err)
		}
		mr.Champion = &chmp.metrics
	}
	for i, s := range series {
		sr := SeriesResult{ID: s.ID, Read: data.Read[s.ID], Used: len(s.Values), Excluded: data.Excluded[s.ID],
			From: s.Times[0], To: s.Times[len(s.Times)-1],
			ValMAE: chEval.series[i].mae, Plot: chEval.series[i].plot}
		mr.Series = append(mr.Series, sr)
	}
	better, reason := compare(cfg, mr.Champion, mr.Challenger, champion)
	mr.Reason = reason
	switch {
	case cfg.DryRun:
		mr.Decision = DryRun
		return mr, nil
	case better:
		mr.Decision = Promoted
	case cfg.Force:
		mr.Decision, mr.Reason = Forced, reason+"; promoted by -force"
	default:
		mr.Decision = KeptChampion
		return mr, nil
	}
	path, err := store.Publish(challenger)
	if err != nil {
		return mr, fmt.Errorf("publish: %w", err)
	}
	mr.Version, mr.Path = version, path
	if sink != nil {
		if err := sink(ctx, challenger); err != nil {
			return mr, fmt.Errorf("published to the store but not to the model topic: %w", err)
		}
	}
	log.Info("model published", zap.Int64("version", version), zap.String("path", path), zap.String("reason", reason))
	return mr, nil
}

// compare decides whether the challenger is at least as good as the
// champion: no larger validation error (within Tolerance) and no more
// false alarms on the held-out slice.
func compare(cfg *Config, champ, chal *Metrics, champion *model.Model) (bool, string) {
	if champ == nil {
		return true, fmt.Sprintf("no model in service; challenger val MAE %.4g, %d false alarms (%.2f/day) on %d held-out readings",
			chal.ValMAE, chal.FalseAlarms, chal.FalseAlarmsPerDay, chal.HeldOutReadings)
	}
	okErr := chal.ValMAE <= champ.ValMAE*(1+cfg.Tolerance) || math.IsNaN(champ.ValMAE)
	okFA := chal.FalseAlarms <= champ.FalseAlarms
	verdict := "at least as good as"
	if !okErr || !okFA {
		verdict = "worse than"
	}
	return okErr && okFA, fmt.Sprintf("challenger %s %s: val MAE %.4g vs %.4g, false alarms %d vs %d (%.2f vs %.2f/day) on %d held-out readings",
		verdict, champion, chal.ValMAE, champ.ValMAE, chal.FalseAlarms, champ.FalseAlarms, chal.FalseAlarmsPerDay, champ.FalseAlarmsPerDay, chal.HeldOutReadings)
}

type seriesEval struct {
	id       string
	mae      float64
	smoothed []float64 // held-out smoothed errors, detector units
	plot     *SeriesPlot
}

type evaluation struct {
	metrics Metrics
	series  []seriesEval
}

// fixedModel serves one model to every series.
type fixedModel struct{ m *model.Model }

func (f fixedModel) Model(string, map[string]string) *model.Model { return f.m }

// evaluate runs the consumer's detection path with m over each series from
// its start and measures the held-out slice (the newest ValFraction): the
// prediction error and the readings flagged, all of which are false alarms
// since the data is normal.
func evaluate(cfg *Config, m *model.Model, series []model.Series, plots bool) (evaluation, error) {
	var ev evaluation
	var maeSum, rmseSum float64
	var days float64
	for _, s := range series {
		eng, err := detect.NewEngine(cfg.Detect, fixedModel{m}, nil)
		if err != nil {
			return ev, err
		}
		in := make([]detect.Input, len(s.Values))
		for i := range in {
			r := record.Reading{SeriesID: s.ID, Time: s.Times[i], Value: s.Values[i]}
			if len(s.Fields) > 0 {
				r.Fields = map[string]float64{}
				for name, col := range s.Fields {
					if !math.IsNaN(col[i]) {
						r.Fields[name] = col[i]
					}
				}
			}
			in[i] = detect.Input{Reading: r, Offset: int64(i)}
		}
		out := eng.Process(in, nil)
		start := len(s.Values) - int(math.Round(cfg.Train.ValFraction*float64(len(s.Values))))
		start = max(1, min(start, len(s.Values)-1))
		se := seriesEval{id: s.ID}
		if plots {
			se.plot = &SeriesPlot{}
		}
		var sum, sq float64
		var n int
		for i := start; i < len(out); i++ {
			o := out[i]
			if o.Status != detect.Scored || !o.HasPrediction {
				continue
			}
			e := s.Values[i] - o.Predicted
			sum += math.Abs(e)
			sq += e * e
			n++
			se.smoothed = append(se.smoothed, o.Decision.ES)
			if o.Decision.Flagged {
				ev.metrics.Flagged++
			}
			if o.Decision.Event == dynthreshold.EventOpened {
				ev.metrics.FalseAlarms++
			}
			if se.plot != nil {
				p := se.plot
				p.Times = append(p.Times, s.Times[i])
				p.Actual = append(p.Actual, s.Values[i])
				p.Predicted = append(p.Predicted, o.Predicted)
				p.Smoothed = append(p.Smoothed, o.Decision.ES)
				p.Threshold = append(p.Threshold, o.Decision.Threshold)
				p.Flagged = append(p.Flagged, o.Decision.Flagged)
			}
		}
		se.mae = math.NaN()
		if n > 0 {
			se.mae = sum / float64(n)
			maeSum += se.mae
			rmseSum += math.Sqrt(sq / float64(n))
		}
		ev.metrics.HeldOutReadings += n
		if len(s.Times) > start {
			days += s.Times[len(s.Times)-1].Sub(s.Times[start]).Hours() / 24
		}
		ev.series = append(ev.series, se)
	}
	ev.metrics.ValMAE = maeSum / float64(len(series))
	ev.metrics.ValRMSE = rmseSum / float64(len(series))
	if days > 0 {
		ev.metrics.FalseAlarmsPerDay = float64(ev.metrics.FalseAlarms) / days
	}
	return ev, nil
}

// setPriors stores the held-out smoothed errors' statistics with the model,
// per series and pooled: the threshold a new series starts from.
func setPriors(m *model.Model, ev evaluation) {
	var all []float64
	m.Threshold.Priors = map[string]model.Prior{}
	for _, se := range ev.series {
		if p, err := dynthreshold.PriorFrom(se.smoothed); err == nil && p.Count > 0 {
			m.Threshold.Priors[se.id] = model.Prior(p)
		}
		all = append(all, se.smoothed...)
	}
	if p, err := dynthreshold.PriorFrom(all); err == nil {
		m.Threshold.PriorAll = model.Prior(p)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

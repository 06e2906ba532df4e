package backtest

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/vigil-stream/vigil/internal/dataset"
	"github.com/vigil-stream/vigil/internal/detect"
	"github.com/vigil-stream/vigil/internal/dynthreshold"
	"github.com/vigil-stream/vigil/internal/model"
	"github.com/vigil-stream/vigil/internal/nab"
	"github.com/vigil-stream/vigil/internal/record"
)

// Config says what to backtest and how.
type Config struct {
	// Data is the corpus directory (<dir>/<category>/<file>.csv).
	Data string `yaml:"nab_data"`
	// Out receives the result CSVs (<out>/<category>/<file>.csv).
	Out string `yaml:"out"`
	// Labels is NAB's combined_windows.json; empty: no scores.
	Labels string `yaml:"labels"`
	// Workers trains and scores this many files at once. Default 2.
	Workers int `yaml:"workers"`
	// Train configures the model of each file.
	Train model.TrainConfig `yaml:"train"`
	// Detect configures the detection path, as in the consumer.
	Detect detect.Config `yaml:"detect"`
	// Models, if set, keeps each file's trained model there
	// (<dir>/<category>/<file>.<hash of the training settings>.vigil) and
	// reuses it on the next run instead of training again, so that
	// detection settings can be compared quickly on the same models.
	Models string `yaml:"models"`
}

// RegisterFlags registers the backtest flags (and the training and
// detection ones).
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.Data, "nab-data", "", "Corpus directory in the NAB layout: <dir>/<category>/<file>.csv.")
	f.StringVar(&c.Out, "out", "out/backtest", "Directory for the result CSVs (timestamp,value,anomaly_score,label,is_anomaly).")
	f.StringVar(&c.Labels, "labels", "", "NAB combined_windows.json; when given, the results are scored under NAB's profiles.")
	f.IntVar(&c.Workers, "workers", 2, "Files trained and scored at once.")
	f.StringVar(&c.Models, "models", "", "Directory caching each file's trained model (keyed by the training settings); empty: always train.")
	c.Train.RegisterFlags(f)
	c.Detect.RegisterFlags(f)
	for _, d := range Defaults {
		fl := f.Lookup(d.Flag)
		if err := fl.Value.Set(d.Value); err != nil {
			panic(fmt.Sprintf("backtest default %s=%s: %v", d.Flag, d.Value, err))
		}
		fl.DefValue = d.Value
	}
}

// Defaults are the detection settings in which the backtest departs from
// the consumer's defaults, for NAB-like data: NAB rewards the earliest
// alert in a labelled window and charges little for a false positive, so
// the threshold reacts sooner than Telemanom's (span 105, 30 batches,
// p 0.13), which the consumer keeps. docs/backtest.md has the
// measurements; every flag still overrides them.
var Defaults = []struct{ Flag, Value string }{
	{"threshold.smoothing-span", "10"},
	{"threshold.windows", "15"},
	{"threshold.prune-p", "0.05"},
}

// Validate checks the settings.
func (c *Config) Validate() error {
	var errs []error
	if c.Data == "" {
		errs = append(errs, errors.New("-nab-data is required"))
	}
	if c.Out == "" {
		errs = append(errs, errors.New("-out is required"))
	}
	if c.Workers < 1 {
		errs = append(errs, errors.New("-workers must be at least 1"))
	}
	if err := c.Train.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Detect.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// FileResult is the outcome of one file.
type FileResult struct {
	Key       string
	Rows      int
	Probation int
	Flagged   int
	Rejected  int // rows the consumer would have dead-lettered
	Episodes  int
	TrainTime time.Duration
	// File is the input to NAB scoring (Windows set when labels were given).
	File nab.File
	// ValMAE is the model's validation error on the probationary part.
	ValMAE float64
	// Alerts marks the rows at which the consumer would have raised an
	// alert (opened an episode).
	Alerts []bool
}

// Scores are the NAB figures of a run.
type Scores struct {
	// Optimized has one result per profile with its corpus-wide threshold
	// on anomaly_score; Flags the score of the is_anomaly decisions as
	// they are; Alerts the score of the alerts (episode openings) as
	// they are.
	Optimized, Flags, Alerts []nab.Result
}

// Result is a whole backtest.
type Result struct {
	Files    []FileResult
	Windows  int
	Scores   *Scores // nil without labels
	Duration time.Duration
}

// Run backtests every file of the corpus.
func Run(ctx context.Context, cfg Config, logger *zap.Logger) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	files, err := dataset.ListNAB(cfg.Data)
	if err != nil {
		return nil, err
	}
	var windows map[string][]nab.Window
	if cfg.Labels != "" {
		if windows, err = nab.LoadWindows(cfg.Labels); err != nil {
			return nil, err
		}
	}
	res := &Result{Files: make([]FileResult, len(files))}
	jobs := make(chan int)
	errc := make(chan error, len(files))
	var wg sync.WaitGroup
	for range min(cfg.Workers, len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				fr, err := runFile(ctx, cfg, files[i], windows[files[i].Key], logger)
				if err != nil {
					errc <- fmt.Errorf("%s: %w", files[i].Key, err)
					continue
				}
				res.Files[i] = fr
			}
		}()
	}
feed:
	for i := range files {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	close(errc)
	var errs []error
	for err := range errc {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if windows != nil {
		nf := make([]nab.File, len(res.Files))
		for i, f := range res.Files {
			nf[i] = f.File
			res.Windows += len(f.File.Windows)
		}
		sc := &Scores{}
		na := make([]nab.File, len(nf))
		for i, f := range res.Files {
			na[i] = f.File
			na[i].Flags = f.Alerts
		}
		for _, p := range nab.Profiles() {
			_, r, err := nab.Optimize(nf, p)
			if err != nil {
				return nil, err
			}
			sc.Optimized = append(sc.Optimized, r)
			r, err = nab.ScoreFlags(nf, p)
			if err != nil {
				return nil, err
			}
			sc.Flags = append(sc.Flags, r)
			if r, err = nab.ScoreFlags(na, p); err != nil {
				return nil, err
			}
			sc.Alerts = append(sc.Alerts, r)
		}
		res.Scores = sc
	}
	res.Duration = time.Since(start)
	return res, nil
}

// single serves one model to every series.
type single struct{ m *model.Model }

func (s single) Model(string, map[string]string) *model.Model { return s.m }

func runFile(ctx context.Context, cfg Config, f dataset.NABFile, windows []nab.Window, logger *zap.Logger) (FileResult, error) {
	series, err := dataset.ReadFile(f.Path, f.Key)
	if err != nil {
		return FileResult{}, err
	}
	s := series[0]
	n := len(s.Values)
	fr := FileResult{Key: f.Key, Rows: n, Probation: nab.Probation(n)}
	started := time.Now()
	m, err := trainedModel(ctx, cfg, f.Key, model.Series{ID: s.ID, Times: s.Times[:fr.Probation], Values: s.Values[:fr.Probation]}, logger)
	if err != nil {
		return fr, err
	}
	fr.TrainTime = time.Since(started)
	if st, ok := m.ErrorsFor(s.ID); ok {
		fr.ValMAE = st.Mean
	}
	eng, err := detect.NewEngine(cfg.Detect, single{m}, nil)
	if err != nil {
		return fr, err
	}
	in := make([]detect.Input, n)
	for i := range in {
		in[i] = detect.Input{Reading: record.Reading{SeriesID: s.ID, Time: s.Times[i], Value: s.Values[i]}, Offset: int64(i)}
	}
	// The consumer sees readings in fetch-sized batches; results do not
	// depend on batching (detect's batched steps are bit-identical).
	out := eng.Process(in, nil)
	fr.File = nab.File{Key: f.Key, Times: s.Times, Scores: make([]float64, n), Flags: make([]bool, n), Windows: windows}
	fr.Alerts = make([]bool, n)
	for i, o := range out {
		switch o.Status {
		case detect.Scored:
			fr.File.Scores[i] = o.Decision.AlertScore()
			fr.File.Flags[i] = o.Decision.Flagged
			if o.Decision.Flagged {
				fr.Flagged++
			}
			if o.Decision.Event == dynthreshold.EventOpened {
				fr.Alerts[i] = true
				fr.Episodes++
			}
		case detect.Rejected:
			fr.Rejected++
		}
	}
	if err := writeCSV(filepath.Join(cfg.Out, filepath.FromSlash(f.Key)), s, fr.File); err != nil {
		return fr, err
	}
	logger.Info("backtested", zap.String("file", f.Key), zap.Int("rows", n), zap.Int("flagged", fr.Flagged),
		zap.Int("episodes", fr.Episodes), zap.Duration("train", fr.TrainTime))
	return fr, nil
}

// trainedModel trains a model on the probationary part train, or loads the
// one cached under cfg.Models for the same file and training settings.
func trainedModel(ctx context.Context, cfg Config, key string, train model.Series, logger *zap.Logger) (*model.Model, error) {
	var cached string
	if cfg.Models != "" {
		h := sha256.Sum256(fmt.Appendf(nil, "%+v", cfg.Train))
		cached = filepath.Join(cfg.Models, filepath.FromSlash(key)+"."+hex.EncodeToString(h[:6])+".vigil")
		if m, err := model.ReadFile(cached); err == nil {
			return m, nil
		}
	}
	net, scalers, rep, err := model.Train(ctx, cfg.Train, []model.Series{train}, logger.With(zap.String("file", key)), nil)
	if err != nil {
		return nil, fmt.Errorf("train on the probationary part: %w", err)
	}
	m, err := model.FromTraining("backtest", 1, net, scalers, rep, "backtest")
	if err != nil {
		return nil, err
	}
	if cached != "" {
		if err := os.MkdirAll(filepath.Dir(cached), 0o755); err != nil {
			return nil, err
		}
		if err := model.WriteFile(cached, m); err != nil {
			return nil, fmt.Errorf("cache the model: %w", err)
		}
	}
	return m, nil
}

// writeCSV writes a NAB result file.
func writeCSV(path string, s model.Series, f nab.File) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".backtest-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := csv.NewWriter(tmp)
	labels := nab.Label(f.Times, f.Windows)
	_ = w.Write([]string{"timestamp", "value", "anomaly_score", "label", "is_anomaly"})
	for i := range f.Times {
		flag := "0"
		if f.Flags[i] {
			flag = "1"
		}
		_ = w.Write([]string{
			f.Times[i].UTC().Format("2006-01-02 15:04:05"),
			strconv.FormatFloat(s.Values[i], 'g', -1, 64),
			strconv.FormatFloat(f.Scores[i], 'g', -1, 64),
			strconv.Itoa(labels[i]),
			flag,
		})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

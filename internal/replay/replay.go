package replay

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/vigil-stream/vigil/internal/config"
	"github.com/vigil-stream/vigil/internal/dataset"
	"github.com/vigil-stream/vigil/internal/model"
	"github.com/vigil-stream/vigil/internal/record"
)

// Config says what to publish, where and how fast.
type Config struct {
	// Topic receives the readings. Default sensors.
	Topic string `yaml:"topic"`
	// Files are CSV files, or directories in the NAB layout
	// (<dir>/<category>/<file>.csv, series id "<category>/<file>.csv").
	Files config.StringList `yaml:"files"`
	// Synthetic is the number of synthetic series (0: none). Each is a
	// daily sine with noise and rare injected spikes, seeded by Seed.
	Synthetic int `yaml:"synthetic"`
	// SyntheticLength is the number of readings of each synthetic series.
	// Default 1000.
	SyntheticLength int `yaml:"synthetic_length"`
	// SyntheticStep is the event-time spacing of synthetic readings.
	// Default 1m.
	SyntheticStep time.Duration `yaml:"synthetic_step"`
	// SyntheticStart is the event time of the first synthetic reading.
	// Default 2024-01-01T00:00:00Z.
	SyntheticStart string `yaml:"synthetic_start"`
	// Seed seeds the synthetic series. Default 1.
	Seed uint64 `yaml:"seed"`
	// Rate is the number of readings per second over all series; 0 sends
	// as fast as the brokers take them. Default 0.
	Rate float64 `yaml:"rate"`
	// Limit stops after this many readings; 0 sends everything. Default 0.
	Limit int `yaml:"limit"`
	// SeriesPrefix is prepended to every series id. Default empty.
	SeriesPrefix string `yaml:"series_prefix"`
}

// RegisterFlags registers the replay flags.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.Topic, "replay.topic", "sensors", "Topic to publish readings to.")
	f.Var(&c.Files, "replay.files", "CSV files, or directories in the NAB layout (<dir>/<category>/<file>.csv), comma-separated.")
	f.IntVar(&c.Synthetic, "replay.synthetic", 0, "Number of synthetic series (daily sine, noise, rare spikes).")
	f.IntVar(&c.SyntheticLength, "replay.synthetic-length", 1000, "Readings per synthetic series.")
	f.DurationVar(&c.SyntheticStep, "replay.synthetic-step", time.Minute, "Event-time spacing of synthetic readings.")
	f.StringVar(&c.SyntheticStart, "replay.synthetic-start", "2024-01-01T00:00:00Z", "Event time of the first synthetic reading (RFC 3339).")
	f.Uint64Var(&c.Seed, "replay.seed", 1, "Seed of the synthetic series.")
	f.Float64Var(&c.Rate, "replay.rate", 0, "Readings per second over all series; 0 is as fast as possible.")
	f.IntVar(&c.Limit, "replay.limit", 0, "Stop after this many readings; 0 sends everything.")
	f.StringVar(&c.SeriesPrefix, "replay.series-prefix", "", "Prefix for every series id.")
}

// Validate checks the settings.
func (c *Config) Validate() error {
	var errs []error
	if c.Topic == "" {
		errs = append(errs, errors.New("replay.topic is required"))
	}
	if len(c.Files) == 0 && c.Synthetic == 0 {
		errs = append(errs, errors.New("nothing to replay: give replay.files or replay.synthetic"))
	}
	if c.Synthetic < 0 || c.SyntheticLength < 1 || c.SyntheticStep <= 0 {
		errs = append(errs, errors.New("replay.synthetic must be ≥ 0, replay.synthetic-length ≥ 1 and replay.synthetic-step positive"))
	}
	if _, err := time.Parse(time.RFC3339, c.SyntheticStart); err != nil {
		errs = append(errs, fmt.Errorf("replay.synthetic-start: %w", err))
	}
	if c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) {
		errs = append(errs, errors.New("replay.rate must be a finite number ≥ 0"))
	}
	if c.Limit < 0 {
		errs = append(errs, errors.New("replay.limit must be ≥ 0"))
	}
	return errors.Join(errs...)
}

// Encoder turns a reading into a message value.
type Encoder interface {
	EncodeReading(ctx context.Context, dst []byte, r *record.Reading) ([]byte, error)
}

// Writer publishes messages; *kafka.Writer implements it.
type Writer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

var _ Writer = (*kafka.Writer)(nil)

// Load reads the configured files and generates the synthetic series.
func (c *Config) Load() ([]model.Series, error) {
	var out []model.Series
	for _, p := range c.Files {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("replay: %w", err)
		}
		if st.IsDir() {
			files, err := dataset.ListNAB(p)
			if err != nil {
				return nil, fmt.Errorf("replay: %w", err)
			}
			for _, f := range files {
				s, err := dataset.ReadFile(f.Path, f.Key)
				if err != nil {
					return nil, fmt.Errorf("replay: %w", err)
				}
				out = append(out, s...)
			}
			continue
		}
		s, err := dataset.ReadFile(p, filepath.Base(p))
		if err != nil {
			return nil, fmt.Errorf("replay: %w", err)
		}
		out = append(out, s...)
	}
	start, _ := time.Parse(time.RFC3339, c.SyntheticStart)
	out = append(out, Synthetic(c.Synthetic, c.SyntheticLength, start.UTC(), c.SyntheticStep, c.Seed)...)
	for i := range out {
		out[i].ID = c.SeriesPrefix + out[i].ID
	}
	return out, nil
}

// Synthetic returns n series of length readings each, step apart from
// start: a daily sine (random amplitude, phase and level per series) plus
// Gaussian noise, with a spike of 6 amplitudes on about one reading in 2,000.
// The same arguments give the same series.
func Synthetic(n, length int, start time.Time, step time.Duration, seed uint64) []model.Series {
	out := make([]model.Series, n)
	for i := range out {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		level := 50 + 50*rng.Float64()
		amp := 5 + 10*rng.Float64()
		phase := 2 * math.Pi * rng.Float64()
		noise := 0.05 * amp
		s := model.Series{ID: fmt.Sprintf("synthetic-%05d", i), Times: make([]time.Time, length), Values: make([]float64, length)}
		for k := range length {
			t := start.Add(time.Duration(k) * step)
			day := float64(t.Unix()%86400) / 86400
			v := level + amp*math.Sin(2*math.Pi*day+phase) + noise*rng.NormFloat64()
			if rng.Float64() < 1.0/2000 {
				v += 6 * amp
			}
			s.Times[k], s.Values[k] = t, v
		}
		out[i] = s
	}
	return out
}

// Order returns the readings of series interleaved by event time (ties in
// series order), as (series index, reading index) pairs; each series keeps
// its own row order.
func Order(series []model.Series) [][2]int {
	total := 0
	for _, s := range series {
		total += len(s.Values)
	}
	out := make([][2]int, 0, total)
	next := make([]int, len(series))
	// A k-way merge on the next reading's time; series counts are small
	// enough (≤ 1e5) that a linear scan per step would be slow, so use a heap.
	h := &mergeHeap{series: series, next: next}
	for i := range series {
		if len(series[i].Values) > 0 {
			h.items = append(h.items, i)
		}
	}
	h.init()
	for len(h.items) > 0 {
		i := h.items[0]
		out = append(out, [2]int{i, next[i]})
		next[i]++
		if next[i] == len(series[i].Values) {
			h.pop()
		} else {
			h.fix()
		}
	}
	return out
}

// Run publishes the readings of series in Order through w, at cfg.Rate,
// until done, cfg.Limit is reached or ctx ends. It returns how many readings
// were published (acknowledged).
func Run(ctx context.Context, cfg Config, series []model.Series, enc Encoder, w Writer, logger *zap.Logger) (int, error) {
	order := Order(series)
	if cfg.Limit > 0 && cfg.Limit < len(order) {
		order = order[:cfg.Limit]
	}
	const chunk = 500
	batch := max(1, min(chunk, int(cfg.Rate/50))) // ≥ 50 sends a second when paced
	if cfg.Rate == 0 {
		batch = chunk
	}
	start := time.Now()
	sent := 0
	msgs := make([]kafka.Message, 0, batch)
	var last time.Time
	for sent < len(order) {
		msgs = msgs[:0]
		for _, o := range order[sent:min(len(order), sent+batch)] {
			s := &series[o[0]]
			r := record.Reading{SeriesID: s.ID, Time: s.Times[o[1]], Value: s.Values[o[1]]}
			if len(s.Fields) > 0 {
				r.Fields = make(map[string]float64, len(s.Fields))
				for name, vs := range s.Fields {
					if !math.IsNaN(vs[o[1]]) {
						r.Fields[name] = vs[o[1]]
					}
				}
			}
			v, err := enc.EncodeReading(ctx, nil, &r)
			if err != nil {
				return sent, fmt.Errorf("encode reading of %s: %w", s.ID, err)
			}
			msgs = append(msgs, kafka.Message{Topic: cfg.Topic, Key: []byte(s.ID), Value: v})
		}
		if cfg.Rate > 0 {
			due := start.Add(time.Duration(float64(sent) / cfg.Rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				select {
				case <-ctx.Done():
					return sent, nil
				case <-time.After(d):
				}
			}
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			if ctx.Err() != nil {
				return sent, nil //nolint:nilerr // cancellation ends a replay normally
			}
			return sent, fmt.Errorf("publish to %s: %w", cfg.Topic, err)
		}
		sent += len(msgs)
		if time.Since(last) > 5*time.Second {
			last = time.Now()
			logger.Info("replaying", zap.Int("sent", sent), zap.Int("total", len(order)),
				zap.Float64("rate", float64(sent)/time.Since(start).Seconds()))
		}
	}
	logger.Info("replay done", zap.Int("sent", sent), zap.Duration("took", time.Since(start)))
	return sent, nil
}

// mergeHeap is a binary min-heap of series indexes keyed by the time of
// each series' next reading.
type mergeHeap struct {
	series []model.Series
	next   []int
	items  []int
}

func (h *mergeHeap) less(a, b int) bool {
	ta := h.series[a].Times[h.next[a]]
	tb := h.series[b].Times[h.next[b]]
	if ta.Equal(tb) {
		return a < b
	}
	return ta.Before(tb)
}

func (h *mergeHeap) init() {
	for i := len(h.items)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *mergeHeap) fix() { h.down(0) }

func (h *mergeHeap) pop() {
	n := len(h.items) - 1
	h.items[0] = h.items[n]
	h.items = h.items[:n]
	if n > 0 {
		h.down(0)
	}
}

func (h *mergeHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h.items) {
			return
		}
		m := l
		if r := l + 1; r < len(h.items) && h.less(h.items[r], h.items[l]) {
			m = r
		}
		if !h.less(h.items[m], h.items[i]) {
			return
		}
		h.items[i], h.items[m] = h.items[m], h.items[i]
		i = m
	}
}

package detect_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/vigil-stream/vigil/internal/detect"
	"github.com/vigil-stream/vigil/internal/dynthreshold"
	"github.com/vigil-stream/vigil/internal/model"
	"github.com/vigil-stream/vigil/internal/record"
)

var t0 = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// sine returns n readings of a noisy daily sine every 5 minutes, raised by
// 8 at each index in spikes.
func sine(id string, n int, seed uint64, spikes ...int) []record.Reading {
	rng := rand.New(rand.NewPCG(seed, 3))
	out := make([]record.Reading, n)
	for i := range out {
		t := t0.Add(time.Duration(i) * 5 * time.Minute)
		v := 20 + 5*math.Sin(2*math.Pi*float64(i)/288) + 0.2*rng.NormFloat64()
		for _, s := range spikes {
			if i == s {
				v += 8
			}
		}
		out[i] = record.Reading{SeriesID: id, Time: t, Value: v}
	}
	return out
}

var (
	trainOnce sync.Once
	trained   *model.Model
	trainErr  error
)

// tinyModel trains a 1×8 LSTM for a few epochs on a clean sine: small, but
// a real model from the real training path.
func tinyModel(t *testing.T) *model.Model {
	t.Helper()
	trainOnce.Do(func() {
		cfg := model.DefaultTrainConfig()
		cfg.Hidden = []int{8}
		cfg.Epochs = 4
		cfg.SeqLen = 16
		cfg.Batch = 8
		rs := sine("train", 1200, 1)
		s := model.Series{ID: "train"}
		for _, r := range rs {
			s.Times = append(s.Times, r.Time)
			s.Values = append(s.Values, r.Value)
		}
		net, scalers, rep, err := model.Train(context.Background(), cfg, []model.Series{s}, zap.NewNop(), nil)
		if err != nil {
			trainErr = err
			return
		}
		trained, trainErr = model.FromTraining("sine", 1, net, scalers, rep, "test")
	})
	if trainErr != nil {
		t.Fatal(trainErr)
	}
	return trained
}

// fixed serves one model to every series.
type fixed struct{ m *model.Model }

func (f *fixed) Model(string, map[string]string) *model.Model { return f.m }

func testConfig() detect.Config {
	cfg := detect.DefaultConfig()
	cfg.Threshold.WarmUp = 100
	return cfg
}

func newEngine(t *testing.T, cfg detect.Config, m detect.Models, lim *detect.Limiter) *detect.Engine {
	t.Helper()
	e, err := detect.NewEngine(cfg, m, lim)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// interleave returns the readings of several series as inputs, round robin,
// offsets 0, 1, 2, ...
func interleave(series ...[]record.Reading) []detect.Input {
	var in []detect.Input
	for i := 0; ; i++ {
		any := false
		for _, s := range series {
			if i < len(s) {
				in = append(in, detect.Input{Reading: s[i], Offset: int64(len(in))})
				any = true
			}
		}
		if !any {
			return in
		}
	}
}

// run processes in through e in batches of the given sizes (cycled).
func run(e *detect.Engine, in []detect.Input, sizes ...int) []detect.Outcome {
	var out []detect.Outcome
	var scratch []detect.Outcome
	for i, k := 0, 0; i < len(in); k++ {
		n := min(sizes[k%len(sizes)], len(in)-i)
		scratch = e.Process(in[i:i+n], scratch)
		out = append(out, scratch...)
		i += n
	}
	return out
}

// same reports the first difference between two outcome lists.
func same(a, b []detect.Outcome) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d outcomes vs %d", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Status != y.Status || x.Reason != y.Reason ||
			math.Float64bits(x.Predicted) != math.Float64bits(y.Predicted) ||
			math.Float64bits(x.Decision.Score) != math.Float64bits(y.Decision.Score) ||
			math.Float64bits(x.Decision.ES) != math.Float64bits(y.Decision.ES) ||
			x.Decision.Flagged != y.Decision.Flagged || x.Decision.Event != y.Decision.Event ||
			x.Decision.Episode.ID != y.Decision.Episode.ID {
			return fmt.Errorf("outcome %d differs:\n %+v\n %+v", i, x, y)
		}
	}
	return nil
}

func TestBatchingDoesNotChangeResults(t *testing.T) {
	m := tinyModel(t)
	in := interleave(sine("a", 700, 2, 400), sine("b", 650, 3), sine("c", 600, 4, 500, 501))
	want := run(newEngine(t, testConfig(), &fixed{m}, nil), in, 1)
	for _, sizes := range [][]int{{len(in)}, {7}, {1, 50, 3, 300}} {
		got := run(newEngine(t, testConfig(), &fixed{m}, nil), in, sizes...)
		if err := same(want, got); err != nil {
			t.Fatalf("batches %v: %v", sizes, err)
		}
	}
}

func TestCheckpointRestoreIsExact(t *testing.T) {
	m := tinyModel(t)
	in := interleave(sine("a", 800, 5, 600), sine("b", 800, 6))
	want := run(newEngine(t, testConfig(), &fixed{m}, nil), in, 13)
	for _, cut := range []int{1, 150, 999, 1300} {
		t.Run(fmt.Sprint("cut at ", cut), func(t *testing.T) {
			e1 := newEngine(t, testConfig(), &fixed{m}, nil)
			got := run(e1, in[:cut], 13)
			e2 := newEngine(t, testConfig(), &fixed{m}, nil)
			var total int
			commit, err := e1.Checkpoint(0, func(id string, b []byte) {
				total += len(b)
				if err := e2.Restore(id, b); err != nil {
					t.Fatalf("restore %s: %v", id, err)
				}
			})
			if err != nil || commit != int64(cut) || e1.Pending() != 0 {
				t.Fatalf("checkpoint: commit %d (want %d), pending %d, err %v", commit, cut, e1.Pending(), err)
			}
			// Replaying from an older offset (an older commit) is skipped.
			replay := run(e2, in[cut/2:cut], 5)
			for i, o := range replay {
				if o.Status != detect.Replayed {
					t.Fatalf("replayed input %d: status %v", cut/2+i, o.Status)
				}
			}
			got = append(got, run(e2, in[cut:], 13)...)
			if err := same(want, got); err != nil {
				t.Fatal(err)
			}
			t.Logf("state of 2 series: %d bytes", total)
		})
	}
}

func TestSpikeIsFlagged(t *testing.T) {
	m := tinyModel(t)
	// A burst of 20 high readings: Telemanom's smoothing (span 105) lets a
	// lone spike through, by design, but not an excursion.
	spike := 1500
	var burst []int
	for i := range 20 {
		burst = append(burst, spike+i)
	}
	out := run(newEngine(t, testConfig(), &fixed{m}, nil), interleave(sine("a", 1800, 9, burst...)), 64)
	for !out[spike].Decision.Flagged && spike < 1520 {
		spike++
	}
	if !out[spike].Decision.Flagged || out[spike].Decision.Score < 0.5 {
		t.Fatalf("spike at %d not flagged: %+v", spike, out[spike].Decision)
	}
	if out[spike].Decision.Event != dynthreshold.EventOpened {
		t.Fatalf("spike did not open an episode: %v", out[spike].Decision.Event)
	}
	flagged := 0
	for i, o := range out {
		if o.Status != detect.Scored {
			t.Fatalf("input %d: %v", i, o.Status)
		}
		if o.Decision.Flagged && (i < spike || i > spike+150) {
			flagged++
		}
	}
	if flagged > 5 {
		t.Errorf("%d false alarms away from the spike", flagged)
	}
	if out[0].HasPrediction || !out[0].Decision.WarmUp || !out[1].HasPrediction {
		t.Errorf("first reading: %+v; second: %+v", out[0], out[1])
	}
}

// swapper serves one model until swap is called.
type swapper struct{ cur *model.Model }

func (s *swapper) Model(string, map[string]string) *model.Model { return s.cur }

func TestPolicies(t *testing.T) {
	m := tinyModel(t)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * 5 * time.Minute) }
	base := sine("s", 80, 11)
	tests := []struct {
		name   string
		mutate func(*detect.Config)
		extra  []record.Reading // appended after base
		status detect.Status
		reason string
		note   string
	}{
		{name: "duplicate", extra: []record.Reading{{SeriesID: "s", Time: at(79), Value: 1}}, status: detect.Duplicate},
		{name: "out of order rejected", extra: []record.Reading{{SeriesID: "s", Time: at(10), Value: 1}}, status: detect.Rejected, reason: detect.ReasonOutOfOrder},
		{name: "out of order accepted", mutate: func(c *detect.Config) { c.OutOfOrder = detect.OutOfOrderAccept },
			extra: []record.Reading{{SeriesID: "s", Time: at(10), Value: 20}}, status: detect.Scored},
		{name: "gap re-primes", extra: []record.Reading{{SeriesID: "s", Time: at(80 + 500), Value: 20}}, status: detect.Scored, note: "re-primed from 64 retained readings"},
		{name: "gap resets", mutate: func(c *detect.Config) { c.GapPolicy = detect.GapReset },
			extra: []record.Reading{{SeriesID: "s", Time: at(80 + 500), Value: 20}}, status: detect.Scored, note: "reset, warming up"},
		{name: "bad quality unscored", extra: []record.Reading{{SeriesID: "s", Time: at(80), Value: 1e9, Quality: record.QualityBad}}, status: detect.Unscored},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			if tc.mutate != nil {
				tc.mutate(&cfg)
			}
			in := interleave(append(append([]record.Reading{}, base...), tc.extra...))
			out := run(newEngine(t, cfg, &fixed{m}, nil), in, 10)
			last := out[len(out)-1]
			if last.Status != tc.status || last.Reason != tc.reason || !strings.Contains(last.Note, tc.note) {
				t.Fatalf("got status %v reason %q note %q err %v; want %v %q note containing %q",
					last.Status, last.Reason, last.Note, last.Err, tc.status, tc.reason, tc.note)
			}
		})
	}
}

func TestNoModelAndSeriesLimit(t *testing.T) {
	m := tinyModel(t)
	lim := detect.NewLimiter(2)
	e := newEngine(t, testConfig(), &fixed{m}, lim)
	out := e.Process(interleave(sine("a", 1, 1), sine("b", 1, 1), sine("c", 1, 1)), nil)
	if out[0].Status != detect.Scored || out[1].Status != detect.Scored || out[2].Reason != detect.ReasonCardinality {
		t.Fatalf("statuses %v %v %v/%s", out[0].Status, out[1].Status, out[2].Status, out[2].Reason)
	}
	if lim.Live() != 2 {
		t.Fatalf("live = %d", lim.Live())
	}
	e.Close()
	if lim.Live() != 0 {
		t.Fatalf("live after close = %d", lim.Live())
	}
	none := newEngine(t, testConfig(), &fixed{nil}, nil)
	if o := none.Process(interleave(sine("a", 1, 1)), nil); o[0].Reason != detect.ReasonNoModel {
		t.Fatalf("no model: %+v", o[0])
	}
}

func TestModelSwapHasNoBlindPeriod(t *testing.T) {
	m1 := tinyModel(t)
	m2 := *m1
	m2.Version = 2
	sw := &swapper{cur: m1}
	e := newEngine(t, testConfig(), sw, nil)
	in := interleave(sine("s", 300, 12))
	out := run(e, in[:200], 50)
	sw.cur = &m2
	out = append(out, e.Process(in[200:201], nil)...)
	o := out[200]
	if o.Status != detect.Scored || !o.HasPrediction || o.Model != &m2 {
		t.Fatalf("first reading after the swap: %+v", o)
	}
	if !strings.Contains(o.Note, "sine@v2 swapped in") || !strings.Contains(o.Note, "64 retained readings") {
		t.Fatalf("note %q", o.Note)
	}
	// The re-primed prediction is close to the old model's (same weights).
	if math.Abs(o.Predicted-out[199].Predicted) > 2 {
		t.Errorf("prediction after swap %v, before %v", o.Predicted, out[199].Predicted)
	}
}

func TestRestoreRejectsGarbage(t *testing.T) {
	e := newEngine(t, testConfig(), &fixed{nil}, nil)
	for _, b := range [][]byte{nil, []byte("VS"), []byte("VS\x09"), []byte("XX\x01abc"), []byte("VS\x01\xff\xff\xff")} {
		if err := e.Restore("x", b); !errors.Is(err, detect.ErrState) {
			t.Errorf("Restore(%q) = %v, want ErrState", b, err)
		}
	}
}

func FuzzRestore(f *testing.F) {
	m := trainedForFuzz(f)
	e, _ := detect.NewEngine(testConfig(), &fixed{m}, nil)
	e.Process(interleave(sine("a", 150, 1)), nil)
	b, _, _ := e.AppendState(nil, "a")
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Add([]byte("VS\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, _ := detect.NewEngine(testConfig(), &fixed{m}, nil)
		if err := e.Restore("a", data); err != nil {
			if !errors.Is(err, detect.ErrState) {
				t.Fatalf("error %v is not ErrState", err)
			}
			return
		}
		// A state that decodes must be usable.
		e.Process(interleave(sine("a", 3, 2)), nil)
	})
}

func trainedForFuzz(f *testing.F) *model.Model {
	var m *model.Model
	f.Helper()
	t := &testing.T{}
	_ = t
	trainOnce.Do(func() {})
	if trained != nil {
		return trained
	}
	// Fuzzing runs without the tests: build a small random model instead.
	rng := rand.New(rand.NewPCG(1, 1))
	feat := model.Features{Calendar: true}
	n := model.NewNetwork(feat.Width(), []int{4}, 1)
	for i := range n.Layers[0].W {
		n.Layers[0].W[i] = float32(rng.NormFloat64() * 0.3)
	}
	for i := range n.Head.W {
		n.Head.W[i] = float32(rng.NormFloat64() * 0.3)
	}
	m = &model.Model{Name: "fuzz", Version: 1, Network: n, Features: feat,
		Fallback: &model.Scaler{Center: []float64{20}, Spread: []float64{3}}}
	return m
}

// TestCheckpointSpreads checkpoints a few series at a time: the commit
// offset is the first input of the oldest series not yet written, and
// reaches the end once every series is.
func TestCheckpointSpreads(t *testing.T) {
	m := tinyModel(t)
	e := newEngine(t, testConfig(), &fixed{m}, nil)
	in := interleave(sine("a", 3, 1), sine("b", 3, 1), sine("c", 3, 1)) // offsets a0 b1 c2 a3 b4 c5 a6 b7 c8
	e.Process(in[:4], nil)                                              // a, b, c changed, a again
	var got []string
	emit := func(id string, _ []byte) { got = append(got, id) }
	steps := []struct {
		limit  int
		commit int64
		ids    string
	}{
		{1, 1, "a"},   // b's first change (offset 1) is now the oldest
		{1, 2, "a b"}, // then c's
		{1, 4, "a b c"},
	}
	for _, st := range steps {
		c, err := e.Checkpoint(st.limit, emit)
		if err != nil || c != st.commit || strings.Join(got, " ") != st.ids {
			t.Fatalf("Checkpoint(%d) = %d, %v, emitted %v; want %d, %s", st.limit, c, err, got, st.commit, st.ids)
		}
	}
	e.Process(in[4:6], nil) // b and c change again
	if c, _ := e.Checkpoint(0, emit); c != 6 || e.Pending() != 0 {
		t.Fatalf("full checkpoint: commit %d, pending %d", c, e.Pending())
	}
}

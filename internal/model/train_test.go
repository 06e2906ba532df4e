package model

import (
	"context"
	"errors"
	"flag"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

// synthSeries returns a seeded noisy daily-seasonal series of n half-hourly
// readings with an optional extra field "load".
func synthSeries(id string, n int, seed uint64, withField bool) Series {
	rng := rand.New(rand.NewPCG(seed, 7))
	s := Series{ID: id}
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var load []float64
	for i := range n {
		ts := t0.Add(time.Duration(i) * 30 * time.Minute)
		day := 2 * math.Pi * float64(i%48) / 48
		v := 100 + 20*math.Sin(day) + 2*rng.NormFloat64()
		s.Times = append(s.Times, ts)
		s.Values = append(s.Values, v)
		if withField {
			l := 5 + math.Cos(day) + 0.1*rng.NormFloat64()
			if i%17 == 0 {
				l = math.NaN() // a reading without the field
			}
			load = append(load, l)
		}
	}
	if withField {
		s.Fields = map[string][]float64{"load": load}
	}
	return s
}

// tinyConfig returns settings small enough for tests: the race detector
// slows gorgonia's VM by an order of magnitude.
func tinyConfig() TrainConfig {
	c := DefaultTrainConfig()
	c.Hidden = []int{4}
	c.Batch = 4
	c.SeqLen = 8
	c.Epochs = 3
	c.LR = 1e-2
	c.ValFraction = 0.25
	return c
}

func TestTrainConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*TrainConfig)
		ok     bool
	}{
		{"defaults", func(*TrainConfig) {}, true},
		{"no layers", func(c *TrainConfig) { c.Hidden = nil }, false},
		{"zero layer", func(c *TrainConfig) { c.Hidden = []int{8, 0} }, false},
		{"horizon 0", func(c *TrainConfig) { c.Horizon = 0 }, false},
		{"seq-len 0", func(c *TrainConfig) { c.SeqLen = 0 }, false},
		{"batch 0", func(c *TrainConfig) { c.Batch = 0 }, false},
		{"epochs 0", func(c *TrainConfig) { c.Epochs = 0 }, false},
		{"lr 0", func(c *TrainConfig) { c.LR = 0 }, false},
		{"lr NaN", func(c *TrainConfig) { c.LR = math.NaN() }, false},
		{"clip negative", func(c *TrainConfig) { c.ClipNorm = -1 }, false},
		{"clip off", func(c *TrainConfig) { c.ClipNorm = 0 }, true},
		{"dropout 1", func(c *TrainConfig) { c.Dropout = 1 }, false},
		{"input dropout negative", func(c *TrainConfig) { c.InputDropout = -0.1 }, false},
		{"patience negative", func(c *TrainConfig) { c.Patience = -1 }, false},
		{"val 1", func(c *TrainConfig) { c.ValFraction = 1 }, false},
		{"val 0", func(c *TrainConfig) { c.ValFraction = 0 }, true},
		{"duplicate field", func(c *TrainConfig) { c.Fields = []string{"a", "a"} }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultTrainConfig()
			tc.mutate(&c)
			if err := c.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestTrainConfigFlags(t *testing.T) {
	var c TrainConfig
	f := flag.NewFlagSet("t", flag.ContinueOnError)
	c.RegisterFlags(f)
	if def := DefaultTrainConfig(); !slices.Equal(c.Hidden, def.Hidden) || c.SeqLen != def.SeqLen || c.LR != def.LR {
		t.Fatalf("registered defaults %+v differ from DefaultTrainConfig %+v", c, def)
	}
	err := f.Parse([]string{
		"-model.hidden=8,4", "-model.seq-len=16", "-model.batch=2", "-model.epochs=7", "-model.lr=0.5",
		"-model.clip-norm=2", "-model.dropout=0.1", "-model.input-dropout=0.05", "-model.patience=3",
		"-model.val-fraction=0.3", "-model.seed=9", "-model.horizon=3", "-model.calendar=false",
		"-model.fields=a, b",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := TrainConfig{Hidden: []int{8, 4}, Horizon: 3, Fields: []string{"a", "b"}, Calendar: false, SeqLen: 16, Batch: 2,
		Epochs: 7, LR: 0.5, ClipNorm: 2, Dropout: 0.1, InputDropout: 0.05, Patience: 3, ValFraction: 0.3, Seed: 9}
	if !slices.Equal(c.Hidden, want.Hidden) || !slices.Equal(c.Fields, want.Fields) {
		t.Fatalf("lists: got %v %v", c.Hidden, c.Fields)
	}
	c.Hidden, c.Fields, want.Hidden, want.Fields = nil, nil, nil, nil
	if c.Horizon != want.Horizon || c.Calendar != want.Calendar || c.SeqLen != want.SeqLen || c.Batch != want.Batch ||
		c.Epochs != want.Epochs || c.LR != want.LR || c.ClipNorm != want.ClipNorm || c.Dropout != want.Dropout ||
		c.InputDropout != want.InputDropout || c.Patience != want.Patience || c.ValFraction != want.ValFraction || c.Seed != want.Seed {
		t.Fatalf("got %+v, want %+v", c, want)
	}
	if err := f.Parse([]string{"-model.hidden=8,x"}); err == nil {
		t.Fatal("bad hidden list accepted")
	}
}

// TestTrainDeterministic trains twice with the same seed (dropout on, so
// the dropout masks are drawn too) and requires bit-identical weights and
// reports; a third run with another seed must differ.
func TestTrainDeterministic(t *testing.T) {
	cfg := tinyConfig()
	cfg.Hidden = []int{4, 3}
	cfg.Dropout = 0.2
	cfg.InputDropout = 0.1
	data := []Series{synthSeries("a", 300, 1, true), synthSeries("b", 250, 2, true)}
	cfg.Fields = []string{"load"}
	run := func(seed uint64) (*Network, TrainReport) {
		c := cfg
		c.Seed = seed
		n, _, rep, err := Train(context.Background(), c, data, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return n, rep
	}
	n1, r1 := run(5)
	n2, r2 := run(5)
	n3, _ := run(6)
	w1, w2, w3 := flatWeights(n1), flatWeights(n2), flatWeights(n3)
	for i := range w1 {
		if math.Float32bits(w1[i]) != math.Float32bits(w2[i]) {
			t.Fatalf("weight %d differs between identical runs: %v vs %v", i, w1[i], w2[i])
		}
	}
	if slices.Equal(w1, w3) {
		t.Fatal("different seeds gave identical weights")
	}
	if r1.ValLoss != r2.ValLoss || r1.ValErrors != r2.ValErrors {
		t.Fatalf("reports differ: %v %v vs %v %v", r1.ValLoss, r1.ValErrors, r2.ValLoss, r2.ValErrors)
	}
}

func flatWeights(n *Network) []float32 {
	var w []float32
	for _, ly := range n.Layers {
		w = append(append(w, ly.W...), ly.B...)
	}
	return append(append(w, n.Head.W...), n.Head.B...)
}

// TestTrainDiverged requires an exploding or NaN loss to come back as an
// error wrapping ErrDiverged, never a panic.
func TestTrainDiverged(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*TrainConfig, *Series)
	}{
		{"huge learning rate", func(c *TrainConfig, _ *Series) { c.LR = 1e6; c.ClipNorm = 0 }},
		// 1e30 scales to ~1e29, finite in float32, but its square is not.
		{"injected huge reading", func(_ *TrainConfig, s *Series) { s.Values[20] = 1e30 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tinyConfig()
			s := synthSeries("a", 200, 3, false)
			tc.mutate(&cfg, &s)
			n, _, _, err := Train(context.Background(), cfg, []Series{s}, nil, nil)
			if !errors.Is(err, ErrDiverged) {
				t.Fatalf("err = %v, want ErrDiverged", err)
			}
			if n != nil {
				t.Fatal("a network was returned with the error")
			}
		})
	}
}

func TestTrainBadData(t *testing.T) {
	good := func() Series { return synthSeries("a", 100, 4, true) }
	for _, tc := range []struct {
		name   string
		mutate func(*TrainConfig, *[]Series)
	}{
		{"no series", func(_ *TrainConfig, d *[]Series) { *d = nil }},
		{"NaN value", func(_ *TrainConfig, d *[]Series) { (*d)[0].Values[3] = math.NaN() }},
		{"Inf value", func(_ *TrainConfig, d *[]Series) { (*d)[0].Values[3] = math.Inf(1) }},
		{"Inf field", func(c *TrainConfig, d *[]Series) {
			c.Fields = []string{"load"}
			(*d)[0].Fields["load"][5] = math.Inf(-1)
		}},
		{"missing field", func(c *TrainConfig, _ *[]Series) { c.Fields = []string{"pressure"} }},
		{"short field", func(c *TrainConfig, d *[]Series) {
			c.Fields = []string{"load"}
			(*d)[0].Fields["load"] = (*d)[0].Fields["load"][:50]
		}},
		{"too short", func(_ *TrainConfig, d *[]Series) {
			(*d)[0].Values = (*d)[0].Values[:1]
			(*d)[0].Times = (*d)[0].Times[:1]
		}},
		{"validation part rounds to nothing", func(c *TrainConfig, d *[]Series) {
			c.ValFraction = 0.004 // round(0.4) = 0 of 100 readings
		}},
		{"calendar without times", func(_ *TrainConfig, d *[]Series) { (*d)[0].Times = nil }},
		{"duplicate id", func(_ *TrainConfig, d *[]Series) { *d = append(*d, (*d)[0]) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tinyConfig()
			cfg.Epochs = 1
			data := []Series{good()}
			tc.mutate(&cfg, &data)
			_, _, _, err := Train(context.Background(), cfg, data, nil, nil)
			if !errors.Is(err, ErrBadData) {
				t.Fatalf("err = %v, want ErrBadData", err)
			}
		})
	}
}

func TestTrainCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cfg := tinyConfig()
	cfg.Epochs = 50
	calls := 0
	_, _, _, err := Train(ctx, cfg, []Series{synthSeries("a", 200, 5, false)}, nil, func(EpochStats) {
		calls++
		cancel()
	})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Fatalf("err = %v after %d epochs, want context.Canceled after 1", err, calls)
	}
	// Cancelled while validating: the evaluation checks ctx between its
	// segments too.
	p, err := prepareSeries(synthSeries("a", 200, 5, false), cfg.Features(), cfg.ValFraction, cfg.Horizon)
	if err != nil {
		t.Fatal(err)
	}
	tr := newTrainer(cfg, []*preparedSeries{p})
	if _, err := newEvaluator(tr.params, []*preparedSeries{p}, cfg.SeqLen).run(ctx, tr.params); !errors.Is(err, context.Canceled) {
		t.Fatalf("validation with a cancelled context: err = %v", err)
	}
}

// TestTrainGroup trains a group model with a further field, k = 2 outputs
// and no calendar, and checks the shapes, scalers and report.
func TestTrainGroup(t *testing.T) {
	cfg := tinyConfig()
	cfg.Fields = []string{"load"}
	cfg.Horizon = 2
	cfg.Calendar = false
	cfg.Epochs = 4
	cfg.Patience = 1
	a, b := synthSeries("a", 240, 6, true), synthSeries("b", 160, 7, true)
	for i := range b.Values {
		b.Values[i] = 1000 + 10*b.Values[i] // another level and unit
	}
	var seen []EpochStats
	n, sc, rep, err := Train(context.Background(), cfg, []Series{a, b}, nil, func(st EpochStats) { seen = append(seen, st) })
	if err != nil {
		t.Fatal(err)
	}
	if n.Inputs() != 2 || n.Outputs() != 2 || !slices.Equal(n.Hidden(), []int{4}) {
		t.Fatalf("network shape %d→%v→%d", n.Inputs(), n.Hidden(), n.Outputs())
	}
	if len(sc.BySeries) != 2 || sc.Fallback == nil || len(sc.BySeries["b"].Center) != 2 {
		t.Fatalf("scalers %+v", sc)
	}
	if sc.BySeries["b"].Center[0] < 1000 || sc.BySeries["a"].Center[0] > 200 {
		t.Fatalf("per-series centers %v %v", sc.BySeries["a"].Center, sc.BySeries["b"].Center)
	}
	if len(seen) != rep.Epochs || len(rep.LossCurve) != rep.Epochs || rep.BestEpoch < 1 || rep.BestEpoch > rep.Epochs {
		t.Fatalf("epochs: %d callbacks, report %d epochs, best %d", len(seen), rep.Epochs, rep.BestEpoch)
	}
	if rep.EarlyStopped && rep.Epochs-rep.BestEpoch != cfg.Patience {
		t.Fatalf("early stop at %d with best %d and patience %d", rep.Epochs, rep.BestEpoch, cfg.Patience)
	}
	if len(rep.Series) != 2 || rep.Series[0].ValStart != 180 || rep.Series[1].ValStart != 120 {
		t.Fatalf("series info %+v", rep.Series)
	}
	// Validation predictions: readings [ValStart, n) each predicted once by
	// output 0.
	if rep.Series[0].ValErrors.N != 60 || rep.Series[1].ValErrors.N != 40 || rep.ValErrors.N != 100 {
		t.Fatalf("validation counts %d %d %d", rep.Series[0].ValErrors.N, rep.Series[1].ValErrors.N, rep.ValErrors.N)
	}
	if !rep.DataFrom.Equal(a.Times[0]) || !rep.DataTo.Equal(a.Times[239]) {
		t.Fatalf("data range %v – %v", rep.DataFrom, rep.DataTo)
	}
	if math.IsNaN(rep.ValLoss) || rep.ValLoss <= 0 {
		t.Fatalf("val loss %v", rep.ValLoss)
	}
}

// TestTrainLearns checks that a few epochs beat predicting the median on a
// clean seasonal series: the loss of a zero prediction is the mean squared
// scaled value, about 1 for a sine scaled by its IQR.
func TestTrainLearns(t *testing.T) {
	cfg := tinyConfig()
	cfg.Hidden = []int{8}
	cfg.Epochs = 8
	_, _, rep, err := Train(context.Background(), cfg, []Series{synthSeries("a", 600, 8, false)}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	first, last := rep.LossCurve[0].TrainLoss, rep.LossCurve[len(rep.LossCurve)-1].TrainLoss
	if !(last < first) || !(rep.ValLoss < 0.5) {
		t.Fatalf("train loss %g → %g, val loss %g", first, last, rep.ValLoss)
	}
}

func TestNoValidation(t *testing.T) {
	cfg := tinyConfig()
	cfg.ValFraction = 0
	cfg.Epochs = 2
	_, sc, rep, err := Train(context.Background(), cfg, []Series{synthSeries("a", 100, 9, false)}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sc.Fallback, sc.BySeries["a"]) {
		t.Fatalf("one series: fallback %+v != series scaler %+v", sc.Fallback, sc.BySeries["a"])
	}
	if !math.IsNaN(rep.ValLoss) || rep.ValErrors.N != 0 || rep.BestEpoch != 2 || !math.IsNaN(rep.LossCurve[0].ValLoss) {
		t.Fatalf("report without validation: %+v", rep)
	}
}

func TestAdamAndClip(t *testing.T) {
	// Clipping keeps the direction and sets the global norm.
	g := [][]float32{{3, 0}, {4}}
	if n := clipGlobalNorm(g, 1); n != 5 {
		t.Fatalf("norm %g, want 5", n)
	}
	if math.Abs(float64(g[0][0])-0.6) > 1e-7 || math.Abs(float64(g[1][0])-0.8) > 1e-7 {
		t.Fatalf("clipped %v", g)
	}
	// Adam's first step moves every weight by α·sign(g) (m̂ = g, v̂ = g²),
	// up to ε and float32 rounding.
	p := [][]float32{{1, -1}}
	a := newAdam(0.1, p)
	a.step(p, [][]float32{{0.5, -2}})
	if math.Abs(float64(p[0][0])-0.9) > 1e-6 || math.Abs(float64(p[0][1])+0.9) > 1e-6 {
		t.Fatalf("after one step %v", p)
	}
}

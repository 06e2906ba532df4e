package model

import (
	"context"
	"math"
	"testing"
)

// The acceptance tests of the trainer: the serving step (Network.Step) is
// the same arithmetic as the gorgonia graph the trainer differentiates, and
// the validation error the trainer reports is the one the streaming step
// produces.

// parityModel trains the default architecture for two epochs on the start
// of nyc_taxi, with dropout between the layers: dropout must be off in the
// graph that reports validation and in the serving step alike.
func parityModel(t *testing.T, readings int, valFraction float64) (*Network, ScalerSet, TrainReport, Series) {
	t.Helper()
	s := loadNAB(t, "realKnownCause/nyc_taxi.csv", readings)
	cfg := DefaultTrainConfig()
	cfg.Batch = 8
	cfg.SeqLen = 32
	cfg.Epochs = 2
	cfg.LR = 1e-2
	cfg.ValFraction = valFraction
	cfg.Dropout = 0.2
	net, sc, rep, err := Train(context.Background(), cfg, []Series{s}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return net, sc, rep, s
}

// stepAll runs Network.Step over the encoded readings of s from a zero
// state, as the consumer does, and returns the n × Outputs predictions.
func stepAll(net *Network, feat Features, sc *Scaler, s Series) []float32 {
	st := net.NewState()
	x := make([]float32, feat.Width())
	out := net.Outputs()
	y := make([]float32, len(s.Values)*out)
	for i, v := range s.Values {
		feat.Encode(x, sc, s.Times[i], v, nil)
		net.Step(st, x, y[i*out:(i+1)*out])
	}
	return y
}

// TestStepMatchesGraph runs 10,000 steps of a trained model through the
// gorgonia graph (batch 1, segments of 32 steps with the state carried as
// in training and validation) and through Network.Step, and requires every
// prediction to agree within 1e-5 absolute, in scaled units (the network's
// own output units; 1e-5 of a robust standard score).
//
// Both sides compute in float32 with the same formulas; they differ only in
// the summation order of the gate dot products and in the last bit of σ and
// tanh (gorgonia's float32 tanh is chewxy/math32's, its σ clamps beyond
// |x| > 15/88), each a relative difference of a few float32 ulps (2⁻²³ ≈
// 1.2e-7). The contractive LSTM state keeps these from growing along the
// sequence, so 1e-5 leaves a margin of about 10×.
//
// Under the race detector the graph VM is about ten times slower, and the
// test runs the first 2,500 steps only; the full 10,000 run without it.
func TestStepMatchesGraph(t *testing.T) {
	steps := 10000
	if raceEnabled {
		steps = 2500
		t.Log("race detector on: 2,500 steps instead of 10,000")
	}
	net, sc, rep, _ := parityModel(t, 800, 0)
	s := loadNAB(t, "realKnownCause/nyc_taxi.csv", steps)
	feat := rep.Features
	scaler := sc.BySeries[s.ID]

	x := make([]float32, steps*feat.Width())
	for i, v := range s.Values {
		feat.Encode(x[i*feat.Width():(i+1)*feat.Width()], scaler, s.Times[i], v, nil)
	}
	p := paramsFromNetwork(net)
	graphPred := make([]float32, steps*net.Outputs())
	lg := newLSTMGraph(p, 1, 32, false, false, false)
	err := forwardRows(context.Background(), lg, p, [][]float32{x}, func(_, pos int, pred []float32) {
		copy(graphPred[pos*net.Outputs():], pred)
	})
	if err != nil {
		t.Fatal(err)
	}
	stepPred := stepAll(net, feat, scaler, s)

	var maxDiff float64
	at := 0
	for i := range stepPred {
		if d := math.Abs(float64(stepPred[i]) - float64(graphPred[i])); d > maxDiff || math.IsNaN(d) {
			maxDiff, at = d, i
		}
	}
	t.Logf("max |Step − graph| over %d steps: %.3g (at step %d)", steps, maxDiff, at)
	if !(maxDiff <= 1e-5) {
		t.Fatalf("max |Step − graph| = %g at step %d, want ≤ 1e-5", maxDiff, at)
	}
}

// TestReportedValidationMatchesStep requires the validation figures of the
// training report (computed by the gorgonia graph, running the series from
// its first reading through the training part into the validation part)
// to equal, within 1e-6 relative, those of Network.Step run over the whole
// series as the consumer runs it.
func TestReportedValidationMatchesStep(t *testing.T) {
	net, sc, rep, s := parityModel(t, 1000, 0.25)
	pred := stepAll(net, rep.Features, sc.BySeries[s.ID], s)
	scaler := sc.BySeries[s.ID]
	valStart := rep.Series[0].ValStart

	// The prediction made after reading i is for reading i+1.
	var sq float64
	var abs []float64
	for i := valStart - 1; i < len(s.Values)-1; i++ {
		yhat := float64(pred[i])
		y := float64(float32(scaler.Scale(0, s.Values[i+1])))
		sq += (yhat - y) * (yhat - y)
		abs = append(abs, math.Abs(scaler.Unscale(0, yhat)-s.Values[i+1]))
	}
	mse := sq / float64(len(abs))
	stats := errorStats(abs)

	rel := func(a, b float64) float64 { return math.Abs(a-b) / math.Max(math.Abs(a), math.Abs(b)) }
	for _, c := range []struct {
		name        string
		report, got float64
	}{
		{"MSE (scaled)", rep.ValLoss, mse},
		{"mean |err|", rep.ValErrors.Mean, stats.Mean},
		{"std |err|", rep.ValErrors.Std, stats.Std},
		{"p50 |err|", rep.ValErrors.P50, stats.P50},
		{"p90 |err|", rep.ValErrors.P90, stats.P90},
		{"p99 |err|", rep.ValErrors.P99, stats.P99},
		{"max |err|", rep.ValErrors.Max, stats.Max},
	} {
		r := rel(c.report, c.got)
		t.Logf("%-13s report %.9g, Step %.9g, relative difference %.3g", c.name, c.report, c.got, r)
		if !(r <= 1e-6) {
			t.Errorf("%s: report %g, Step %g: relative difference %g > 1e-6", c.name, c.report, c.got, r)
		}
	}
	if rep.ValErrors.N != stats.N {
		t.Errorf("report counts %d validation readings, Step %d", rep.ValErrors.N, stats.N)
	}
}

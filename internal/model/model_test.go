package model

import (
	"math"
	"testing"
	"time"
)

func TestPredictorMatchesStep(t *testing.T) {
	m := testModel()
	t0 := time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)
	for _, id := range []string{"pump-7/temp", "unseen"} {
		t.Run(id, func(t *testing.T) {
			p := m.NewPredictor(id)
			sc := m.ScalerFor(id)
			if p.Scaler() != sc || p.Model() != m {
				t.Fatal("wrong scaler or model")
			}
			st := m.Network.NewState()
			x := make([]float32, m.Features.Width())
			y := make([]float32, m.Network.Outputs())
			for i := range 50 {
				ts := t0.Add(time.Duration(i) * time.Minute)
				v := 60 + 3*math.Sin(float64(i)/5)
				f := map[string]float64{"humidity": 40 + float64(i%7)}
				got := p.Predict(ts, v, f)
				m.Features.Encode(x, sc, ts, v, f)
				m.Network.Step(st, x, y)
				want := sc.Unscale(0, float64(y[0]))
				if got != want || p.Forecast(0) != want {
					t.Fatalf("step %d: Predict = %v, Forecast = %v, want %v", i, got, p.Forecast(0), want)
				}
			}
			if !equalState(p.State(), st) {
				t.Error("states differ")
			}
		})
	}
}

func equalState(a, b *State) bool {
	for l := range a.H {
		for i := range a.H[l] {
			if a.H[l][i] != b.H[l][i] || a.C[l][i] != b.C[l][i] {
				return false
			}
		}
	}
	return true
}

func TestPredictorSkipsNonFiniteReadings(t *testing.T) {
	m := testModel()
	p := m.NewPredictor("pump-8/temp")
	t0 := time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)
	p.Predict(t0, 61, nil)
	before := m.Network.NewState()
	before.CopyFrom(p.State())
	for _, tc := range []struct {
		v float64
		f map[string]float64
	}{
		{math.NaN(), nil},
		{math.Inf(1), nil},
		{1e300, nil}, // overflows float32 once scaled
		{61, map[string]float64{"humidity": math.NaN()}},
	} {
		if got := p.Predict(t0.Add(time.Minute), tc.v, tc.f); !math.IsNaN(got) {
			t.Errorf("Predict(%v, %v) = %v, want NaN", tc.v, tc.f, got)
		}
	}
	if !equalState(p.State(), before) {
		t.Error("a non-finite reading changed the state")
	}
	p.Reset()
	if !equalState(p.State(), m.Network.NewState()) || p.Forecast(0) != m.Scalers["pump-8/temp"].Center[0] {
		t.Error("Reset")
	}
}

func TestPredictorDoesNotAllocate(t *testing.T) {
	m := testModel()
	p := m.NewPredictor("pump-7/temp")
	ts := time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)
	f := map[string]float64{"humidity": 41}
	if n := testing.AllocsPerRun(100, func() { p.Predict(ts, 60.5, f) }); n != 0 {
		t.Errorf("Predict allocates %v times per call", n)
	}
}

func BenchmarkPredict(b *testing.B) {
	m := testModel()
	p := m.NewPredictor("pump-7/temp")
	ts := time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)
	f := map[string]float64{"humidity": 41}
	b.ReportAllocs()
	for b.Loop() {
		p.Predict(ts, 60.5, f)
	}
}

// TestModelSharedByGoroutines runs predictors of one loaded model from
// several goroutines, as the consumer does; under -race it checks that
// nothing writes to the shared model.
func TestModelSharedByGoroutines(t *testing.T) {
	m, err := ReadFile(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	want := make([]float64, 4)
	done := make(chan struct{})
	for g := range want {
		go func() {
			defer func() { done <- struct{}{} }()
			p := m.NewPredictor([]string{"a", "b"}[g%2])
			var y float64
			for i := range 200 {
				y = p.Predict(t0.Add(time.Duration(i)*time.Minute), float64(i%10), map[string]float64{"rpm": 3})
			}
			want[g] = y
		}()
	}
	for range want {
		<-done
	}
	if want[0] != want[2] || want[1] != want[3] || math.IsNaN(want[0]) {
		t.Errorf("forecasts %v: same series must agree", want)
	}
}

package dynthreshold

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// smallParams are Telemanom's rules on a scale small enough to compute by
// hand: h = 4 batches of 5, no smoothing (span 1 gives α = 1), error buffer
// 2 (so find_epsilon grows exceedances by 1, flagging by 2) and no l_s.
func smallParams() ReferenceParams {
	p := DefaultReferenceParams()
	p.Batch, p.Windows, p.SmoothingSpan, p.ErrorBuffer, p.SeqLen = 5, 4, 1, 2, 0
	return p
}

func ramp(n int) []float64 {
	y := make([]float64, n)
	for i := range y {
		y[i] = float64(i)
	}
	return y
}

func filled(n int, v float64, at map[int]float64) []float64 {
	e := make([]float64, n)
	for i := range e {
		e[i] = v
	}
	for i, x := range at {
		e[i] = x
	}
	return e
}

func span(a, b int) []int {
	var out []int
	for i := a; i <= b; i++ {
		out = append(out, i)
	}
	return out
}

// The expectations below are worked out by hand in the comments; the
// values y = 0, 1, …, 19 of every window give 95th − 5th percentile
// 18.05 − 0.95 = 17.1, a floor of 0.855, and σ_y ≈ 5.77.
func TestReferenceHandCases(t *testing.T) {
	tests := []struct {
		name    string
		errs    []float64
		wantZ   []float64 // per window
		wantInv []float64
		flagged []int
		seqs    []Span
	}{
		{
			// 19 ones and a 10 at index 10: μ = 1.45, σ = √3.8475 ≈ 1.9615.
			// The spike exceeds μ + zσ for z ≤ 4.36; for z = 2.5 … 4 the
			// score is (0.45/1.45 + 1)/(1² + 3) ≈ 0.3276 each, ties go to
			// the largest z: 4. Flagging grows index 10 by 2: 8…12; pruning
			// compares 10 with the largest other error, 1: kept.
			name:    "single spike",
			errs:    filled(20, 1, map[int]float64{10: 10}),
			wantZ:   []float64{4},
			wantInv: []float64{12},
			flagged: span(8, 12),
			seqs:    []Span{{8, 12}},
		},
		{
			// 19 tens and a 0 at index 10: the mirror image. Inverted errors
			// 19 − e are 9 and 19; μ = 9.5, σ = √4.75; the dip exceeds for
			// z ≤ 4.36, each with score (0.5/9.5 + 1)/4, so z_inv = 4. The
			// errors themselves never reach μ + 2.5σ: z = 12.
			name:    "single dip",
			errs:    filled(20, 10, map[int]float64{10: 0}),
			wantZ:   []float64{12},
			wantInv: []float64{4},
			flagged: span(8, 12),
			seqs:    []Span{{8, 12}},
		},
		{
			// Window 0 as in "single spike". Window 1 (readings 5…24) holds
			// 18 ones, the 10 (relative 5) and an 11 (relative 17): μ = 1.95,
			// σ = √8.1475 ≈ 2.8544. z = 2.5 takes both spikes: 6 buffered
			// indices in 2 sequences, pruned mean 1 and σ 0, score
			// (0.95/1.95 + 1)/(4 + 6) ≈ 0.1487. z = 3 takes the 11 only:
			// pruned mean 28/19, σ ≈ 2.0097, score ≈ (0.2443 + 0.2959)/4
			// ≈ 0.1350. So z = 2.5. Flagging keeps only the newest batch
			// (20…24) around the 11; the largest unflagged error is 1.
			name:    "two windows",
			errs:    filled(25, 1, map[int]float64{10: 10, 22: 11}),
			wantZ:   []float64{4, 2.5},
			wantInv: []float64{12, 12},
			flagged: append(span(8, 12), span(20, 24)...),
			seqs:    []Span{{8, 12}, {20, 24}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Reference(ramp(len(tt.errs)), tt.errs, smallParams())
			if err != nil {
				t.Fatal(err)
			}
			var z, zi []float64
			for _, w := range res.Windows {
				z, zi = append(z, w.Z), append(zi, w.ZInv)
			}
			if !slices.Equal(z, tt.wantZ) || !slices.Equal(zi, tt.wantInv) {
				t.Errorf("z = %v, z_inv = %v; want %v, %v", z, zi, tt.wantZ, tt.wantInv)
			}
			if got := indicesOf(res.Flagged); !slices.Equal(got, tt.flagged) {
				t.Errorf("flagged %v, want %v", got, tt.flagged)
			}
			if !slices.Equal(res.Sequences, tt.seqs) {
				t.Errorf("sequences %v, want %v", res.Sequences, tt.seqs)
			}
		})
	}
}

func TestReferenceWindowZ(t *testing.T) {
	// Two spikes, 10 at 5 and 9.5 at 15, in 18 ones: μ = 1.875,
	// σ = √6.896875 ≈ 2.6262. z = 2.5 takes both: score
	// (0.875/1.875 + 1)/(2² + 6) ≈ 0.1467; z = 3 takes the 10 only: pruned
	// mean 27.5/19, σ ≈ 1.8980, score ≈ (0.2281 + 0.2773)/4 ≈ 0.1263.
	e := filled(20, 1, map[int]float64{5: 10, 15: 9.5})
	w := refWindow{p: smallParams(), es: e, y: ramp(20)}
	w.init()
	z, eps := w.findEpsilon(w.es)
	if z != 2.5 {
		t.Fatalf("z = %v, want 2.5", z)
	}
	// ε = μ + 2.5σ, to within rounding of the sum (a few ulps).
	if want := 1.875 + 2.5*math.Sqrt(6.896875); math.Abs(eps-want) > 1e-12 {
		t.Errorf("ε = %v, want %v", eps, want)
	}
}

func TestPrune(t *testing.T) {
	e := filled(30, 0, map[int]float64{2: 10, 12: 9.5, 22: 5})
	seqs := []Span{{1, 3}, {11, 13}, {21, 23}}
	all := append(append(span(1, 3), span(11, 13)...), span(21, 23)...)
	tests := []struct {
		name string
		seqs []Span
		nam  float64
		want []int
	}{
		// maxima 10, 9.5, 5 then 4.8: steps 5 %, 47 %, 4 %: the last big
		// step is 9.5 → 5, so the 5 goes.
		{"drop the last", seqs, 4.8, append(span(1, 3), span(11, 13)...)},
		// 10, 9.5 then 9: steps 5 %, 5.3 %: no big step, both go.
		{"drop all", seqs[:2], 9, nil},
		// 10, 9.5, 5 then 1: last step 80 %: all kept.
		{"keep all", seqs, 1, all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var iAnom []int
			for _, s := range tt.seqs {
				iAnom = append(iAnom, span(s.Start, s.End)...)
			}
			if got := prune(iAnom, slices.Clone(tt.seqs), e, tt.nam, 0.13); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	// No sequences: i_anom is returned untouched (a lone index survives).
	if got := prune([]int{7}, nil, e, 100, 0.13); !slices.Equal(got, []int{7}) {
		t.Errorf("lone index: got %v", got)
	}
}

func TestSmoothHand(t *testing.T) {
	// span 3: α = 0.5. e_s = 1, (0 + 0.5)/(1 + 0.5) = 1/3, 0.25/1.75 = 1/7,
	// as pandas' ewm(span=3).mean() gives.
	got := Smooth([]float64{1, 0, 0}, 3)
	want := []float64{1, 1.0 / 3, 1.0 / 7}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-15 {
			t.Fatalf("Smooth = %v, want %v", got, want)
		}
	}
}

func TestPercentileSorted(t *testing.T) {
	// numpy.percentile([1, 2, 3, 4], q): rank q/100·3 interpolated.
	s := []float64{1, 2, 3, 4}
	for _, c := range []struct{ q, want float64 }{{95, 3.85}, {5, 1.15}, {50, 2.5}, {100, 4}, {0, 1}} {
		if got := percentileSorted(s, c.q); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("percentile %v = %v, want %v", c.q, got, c.want)
		}
	}
}

func TestGrowGroups(t *testing.T) {
	got := grow([]int{1, 3, 9}, 1, 0, 10)
	if want := []int{0, 1, 2, 3, 4, 8, 9}; !slices.Equal(got, want) {
		t.Fatalf("grow = %v, want %v", got, want)
	}
	if g := groups(got); !slices.Equal(g, []Span{{0, 4}, {8, 9}}) {
		t.Fatalf("groups = %v", g)
	}
	if got := grow([]int{5}, 2, 4, 10); !slices.Equal(got, []int{4, 5, 6, 7}) {
		t.Fatalf("grow from 4 = %v", got)
	}
}

func TestReferenceInvalid(t *testing.T) {
	_, err := Reference([]float64{1, math.NaN()}, []float64{0, 0}, DefaultReferenceParams())
	if !errors.Is(err, ErrInvalidReading) {
		t.Fatalf("NaN value: err = %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("length mismatch did not panic")
		}
	}()
	Reference([]float64{1}, nil, DefaultReferenceParams())
}

// The streaming detector's fast z search must choose the z that
// find_epsilon chooses, on windows with spikes, dips and plateaus.
func TestSearchMatchesFindEpsilon(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cfg := DefaultConfig()
	d, err := New(cfg, Prior{})
	if err != nil {
		t.Fatal(err)
	}
	p := DefaultReferenceParams()
	d.takeScratch()
	defer d.giveScratch()
	for trial := 0; trial < 200; trial++ {
		m := []int{420, 700, 2100}[trial%3]
		e := make([]float64, m)
		for i := range e {
			e[i] = 1 + 0.2*rng.NormFloat64()
		}
		for k := rng.IntN(4); k > 0; k-- { // bumps up or down
			at, w, hgt := rng.IntN(m), 1+rng.IntN(60), (rng.Float64()*6 - 2)
			for i := at; i < min(at+w, m); i++ {
				e[i] += hgt
			}
		}
		es := Smooth(e, 20)
		w := refWindow{p: p, es: es, y: ramp(m)}
		w.init()
		wantZ, _ := w.findEpsilon(w.es)
		wantInv, _ := w.findEpsilon(w.esInv)
		var s1, s2 float64
		for _, v := range es {
			s1 += v - w.mean
			s2 += (v - w.mean) * (v - w.mean)
		}
		gotZ, _, _ := d.search(es, w.mean, w.sd, s1, s2, false)
		gotInv, _, _ := d.search(es, w.mean, w.sd, -s1, s2, true)
		if gotZ != wantZ || gotInv != wantInv {
			t.Errorf("trial %d (m=%d): search z = %v, z_inv = %v; find_epsilon %v, %v", trial, m, gotZ, gotInv, wantZ, wantInv)
		}
	}
}

func TestQuantileSelect(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 300; trial++ {
		n := 1 + rng.IntN(300)
		x := make([]float64, n)
		for i := range x {
			x[i] = float64(rng.IntN(20)) // many ties
			if trial%2 == 0 {
				x[i] = rng.NormFloat64()
			}
		}
		s := slices.Clone(x)
		slices.Sort(s)
		for _, q := range []float64{0, 5, 25, 50, 75, 95, 99, 100} {
			y := slices.Clone(x)
			if got, want := quantileSelect(y, q), percentileSorted(s, q); got != want {
				t.Fatalf("n=%d q=%v: %v, want %v", n, q, got, want)
			}
		}
	}
}

package nab

import (
	"errors"
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2014, 4, 1, 0, 0, 0, 0, time.UTC)

// rowTime is the timestamp of row i in the synthetic files: one a minute.
func rowTime(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }

// synth builds an n-row file with windows given as row-index pairs and
// anomaly score 1 on the rows in det, 0 elsewhere; Flags mirror Scores.
func synth(key string, n int, wins [][2]int, det ...int) File {
	f := File{Key: key, Times: make([]time.Time, n), Scores: make([]float64, n), Flags: make([]bool, n)}
	for i := range n {
		f.Times[i] = rowTime(i)
	}
	for _, w := range wins {
		f.Windows = append(f.Windows, Window{Start: rowTime(w[0]), End: rowTime(w[1])})
	}
	for _, i := range det {
		f.Scores[i], f.Flags[i] = 1, true
	}
	return f
}

func standard() Profile { return Profiles()[0] }

// sig is σ written out independently of scaledSigmoid: 2/(1+e^{5y}) − 1.
func sig(y float64) float64 { return 2/(1+math.Exp(5*y)) - 1 }

func TestProbation(t *testing.T) {
	for _, c := range []struct{ n, want int }{
		{0, 0}, {1, 0}, {6, 0}, // ⌊0.9⌋ = 0
		{7, 1},       // ⌊1.05⌋
		{20, 3},      // ⌊3.0⌋: 0.15·20 rounds to exactly 3 in float64, as in Python
		{100, 15},    // ⌊15.000000000000002⌋
		{4032, 604},  // ⌊604.8⌋
		{4999, 749},  // ⌊749.85⌋
		{5000, 750},  // ⌊750⌋ = cap
		{5001, 750},  // ⌊750.15⌋ capped at 750
		{22695, 750}, // machine_temperature_system_failure.csv
		{1000000, 750},
	} {
		if got := Probation(c.n); got != c.want {
			t.Errorf("Probation(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

func TestScaledSigmoid(t *testing.T) {
	for _, c := range []struct{ y, want float64 }{
		{-1, 0.9866142981514305}, // 2/(1+e^−5) − 1 = 2/1.0067379 − 1
		{-0.5, 0.8482836399575129},
		{0, 0},
		{1, -0.9866142981514305},
		{3, -0.9999993881955461}, // y = 3 is still on the curve
		{3.0000001, -1},          // y > 3 is −1
		{100, -1},
	} {
		if got := scaledSigmoid(c.y); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("σ(%v) = %.17g, want %.17g", c.y, got, c.want)
		}
	}
}

// TestScoreRules checks each scoring rule on one 20-row file (probation
// ⌊0.15·20⌋ = 3 rows) under the standard profile (tp 1, fp 0.11, fn 1),
// against values worked out by hand.
func TestScoreRules(t *testing.T) {
	cases := []struct {
		name string
		f    File
		want float64
		// window and row counts
		windows, detected, missed, tp, fp, fn, tn int
	}{{
		// Window rows 10..14, w = 5. Detection at 10:
		// y = −(14−10+1)/5 = −1, score = 1·σ(−1)/σ(−1) = 1 exactly.
		name:    "left edge scores tpWeight",
		f:       synth("a", 20, [][2]int{{10, 14}}, 10),
		want:    1,
		windows: 1, detected: 1, tp: 1, fn: 4, fp: 0, tn: 12,
	}, {
		// Detection at the right edge 14: y = −(14−14+1)/5 = −0.2,
		// σ(−0.2) = 2/(1+e^−1) − 1 = 2/1.36788 − 1 = 0.46212,
		// ÷ σ(−1) = 0.46212/0.98661 = 0.46839.
		name:    "right edge",
		f:       synth("a", 20, [][2]int{{10, 14}}, 14),
		want:    0.46838684390227814,
		windows: 1, detected: 1, tp: 1, fn: 4, tn: 12,
	}, {
		name:    "missed window costs fnWeight",
		f:       synth("a", 20, [][2]int{{10, 14}}),
		want:    -1,
		windows: 1, missed: 1, fn: 5, tn: 12,
	}, {
		// Detections at 11, 12 and 14; only 11 counts:
		// y = −(14−11+1)/5 = −0.8, σ(−0.8) = 2/(1+e^−4) − 1 = 0.96403,
		// ÷ 0.98661 = 0.97711.
		name:    "only the best detection in a window counts",
		f:       synth("a", 20, [][2]int{{10, 14}}, 14, 12, 11),
		want:    0.9771068409226045,
		windows: 1, detected: 1, tp: 3, fn: 2, tn: 12,
	}, {
		// Detection at 16, two rows past the right edge 14 of a window
		// of width 5: y = 2/(5−1) = 0.5, σ(0.5) = 2/(1+e^2.5) − 1 =
		// 2/13.1825 − 1 = −0.84828, × 0.11 = −0.09331; the window is
		// missed: −1. Total −1.09331.
		name:    "false positive after a window, scaled by distance",
		f:       synth("a", 20, [][2]int{{10, 14}}, 16),
		want:    -1.0933112003953265,
		windows: 1, missed: 1, fp: 1, fn: 5, tn: 11,
	}, {
		// Detection at 5, before the only window: −0.11; missed window −1.
		name:    "false positive with no preceding window costs fpWeight",
		f:       synth("a", 20, [][2]int{{10, 14}}, 5),
		want:    -1.11,
		windows: 1, missed: 1, fp: 1, fn: 5, tn: 11,
	}, {
		name: "false positive in a file without windows costs fpWeight",
		f:    synth("a", 20, nil, 5, 19),
		want: -0.22,
		fp:   2, tn: 15,
	}, {
		// Window 4..5, w = 2. Detection at 9: y = (9−5)/(2−1) = 4 > 3,
		// σ = −1, × 0.11 = −0.11; window missed −1.
		name:    "y > 3 costs the full fpWeight",
		f:       synth("a", 20, [][2]int{{4, 5}}, 9),
		want:    -1.11,
		windows: 1, missed: 1, fp: 1, fn: 2, tn: 14,
	}, {
		// Detection at 8: y = 3, not > 3, so σ(3) = 2/(1+e^15) − 1 =
		// −0.99999939, × 0.11 = −0.10999993; window missed −1.
		name:    "y = 3 is still on the sigmoid",
		f:       synth("a", 20, [][2]int{{4, 5}}, 8),
		want:    -1.1099999327015101,
		windows: 1, missed: 1, fp: 1, fn: 2, tn: 14,
	}, {
		// One-row window 10..10, detection at 11: NAB's sweeper would
		// divide by w − 1 = 0; y = 2 as NAB's earlier scorer.py has it:
		// σ(2) = 2/(1+e^10) − 1 = −0.99990920, × 0.11 = −0.10999001.
		name:    "false positive after a one-row window",
		f:       synth("a", 20, [][2]int{{10, 10}}, 11),
		want:    -1.1099900124688855,
		windows: 1, missed: 1, fp: 1, fn: 1, tn: 15,
	}, {
		// Rows 0..2 are probationary. Window 1..2 lies in them: not
		// scored, and the detections at 0 and 2 are ignored. Window 5..8
		// (w = 4): detection at 6, y = −(8−6+1)/4 = −0.75,
		// σ(−0.75) = 2/(1+e^−3.75) − 1 = 0.95403, ÷ 0.98661 = 0.96699.
		// The detection at 4 follows window 1..2 (w = 2), which still
		// counts as its preceding window: y = (4−2)/1 = 2,
		// σ(2)·0.11 = −0.10999. Total 0.85700.
		name:    "probationary rows and windows are ignored",
		f:       synth("a", 20, [][2]int{{1, 2}, {5, 8}}, 0, 2, 4, 6),
		want:    0.9669890878000605 - 0.10999001246888546,
		windows: 1, detected: 1, tp: 1, fp: 1, fn: 3, tn: 12,
	}, {
		// Window 2..5 (w = 4) straddles the probation boundary (3): it
		// counts, but its first row cannot be detected. The detection
		// at 2 is ignored; the one at 3 has y = −(5−3+1)/4 = −0.75.
		name:    "a window straddling probation counts from its scorable rows",
		f:       synth("a", 20, [][2]int{{2, 5}}, 2, 3),
		want:    0.9669890878000605,
		windows: 1, detected: 1, tp: 1, fn: 2, tn: 14,
	}, {
		// Two windows, 4..6 and 12..15. Detection at 9 follows the first
		// (w = 3): y = (9−6)/2 = 1.5, σ(1.5) = 2/(1+e^7.5) − 1 = −0.99889,
		// × 0.11 = −0.10988. Detection at 17 follows the second (w = 4):
		// y = (17−15)/3 = 0.6667, σ = 2/(1+e^3.3333) − 1 = −0.93107,
		// × 0.11 = −0.10242. Window 4..6 detected at its left edge: +1;
		// 12..15 missed: −1.
		name:    "each false positive is scaled by the window just before it",
		f:       synth("a", 20, [][2]int{{4, 6}, {12, 15}}, 4, 9, 17),
		want:    1.0 + -1.0 + 0.11*sig(1.5) + 0.11*sig(2.0/3), // TP + FN + two FPs
		windows: 2, detected: 1, missed: 1, tp: 1, fp: 2, fn: 6, tn: 8,
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Score([]File{c.f}, standard(), 0.5)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(r.Raw-c.want) > 1e-12 {
				t.Errorf("raw %.17g, want %.17g", r.Raw, c.want)
			}
			got := [7]int{r.Windows, r.Detected, r.Missed, r.TP, r.FP, r.FN, r.TN}
			want := [7]int{c.windows, c.detected, c.missed, c.tp, c.fp, c.fn, c.tn}
			if got != want {
				t.Errorf("windows, detected, missed, tp, fp, fn, tn = %v, want %v", got, want)
			}
			fr := r.Files[0]
			if fr.Raw != r.Raw || fr.TPScore+fr.FPScore+fr.FNScore != fr.Raw {
				t.Errorf("file breakdown %+v does not add up to %v", fr, r.Raw)
			}
			// The detector's own flags say the same as the scores here.
			rf, err := ScoreFlags([]File{c.f}, standard())
			if err != nil {
				t.Fatal(err)
			}
			if rf.Raw != r.Raw || !rf.ByFlags {
				t.Errorf("ScoreFlags raw %v (by flags %v), Score raw %v", rf.Raw, rf.ByFlags, r.Raw)
			}
		})
	}
}

// TestLeftEdgeAnyWeight: the left edge is worth exactly tpWeight, not just
// for NAB's tpWeight of 1.
func TestLeftEdgeAnyWeight(t *testing.T) {
	for _, tp := range []float64{1, 0.3, 2, 7.77} {
		r, err := Score([]File{synth("a", 20, [][2]int{{10, 14}}, 10)}, Profile{Name: "x", TP: tp, FP: 0.11, FN: 1}, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		if r.Raw != tp {
			t.Errorf("tpWeight %v: left edge scores %.17g", tp, r.Raw)
		}
	}
}

// TestThresholdInclusive: a row whose score equals the threshold is a
// detection (NAB: anomalyScores >= threshold).
func TestThresholdInclusive(t *testing.T) {
	f := synth("a", 20, [][2]int{{10, 14}})
	f.Scores[10] = 0.7
	for _, c := range []struct{ thr, want float64 }{{0.7, 1}, {math.Nextafter(0.7, 1), -1}} {
		r, err := Score([]File{f}, standard(), c.thr)
		if err != nil {
			t.Fatal(err)
		}
		if r.Raw != c.want {
			t.Errorf("threshold %v: raw %v, want %v", c.thr, r.Raw, c.want)
		}
	}
}

// corpus is a few files with windows in different places, two without.
func corpus() []File {
	return []File{
		synth("x/one.csv", 100, [][2]int{{20, 29}, {60, 79}}),
		synth("x/two.csv", 40, [][2]int{{30, 30}}),
		synth("x/none.csv", 50, nil),
		synth("y/three.csv", 6000, [][2]int{{800, 999}, {2000, 2300}, {5900, 5999}}),
		synth("y/empty.csv", 0, nil),
	}
}

// TestNullAndPerfect: detecting nothing is exactly 0 normalised, detecting
// every window at its left edge and nothing else exactly 100, under every
// profile, whether scored at a threshold, by flags or optimised.
func TestNullAndPerfect(t *testing.T) {
	for _, p := range Profiles() {
		t.Run(p.Name, func(t *testing.T) {
			null := corpus()
			perfect := corpus()
			for i := range perfect {
				for _, w := range perfect[i].Windows {
					j := int(w.Start.Sub(t0) / time.Minute)
					perfect[i].Scores[j], perfect[i].Flags[j] = 1, true
				}
			}
			for _, c := range []struct {
				name  string
				files []File
				want  float64
			}{{"null", null, 0}, {"perfect", perfect, 100}} {
				r, err := Score(c.files, p, 0.5)
				if err != nil {
					t.Fatal(err)
				}
				rf, err := ScoreFlags(c.files, p)
				if err != nil {
					t.Fatal(err)
				}
				thr, ro, err := Optimize(c.files, p)
				if err != nil {
					t.Fatal(err)
				}
				if r.Windows != 6 {
					t.Errorf("%s: %d windows, want 6", c.name, r.Windows)
				}
				for _, got := range []float64{r.Normalized, rf.Normalized, ro.Normalized, Normalize(r.Raw, r.Windows, p)} {
					if got != c.want {
						t.Errorf("%s: normalised %.17g, want exactly %v", c.name, got, c.want)
					}
				}
				wantThr := 1.0
				if c.name == "null" {
					wantThr = startThreshold
				}
				if thr != wantThr || ro.Threshold != thr {
					t.Errorf("%s: optimised threshold %v (result %v), want %v", c.name, thr, ro.Threshold, wantThr)
				}
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	p := Profiles()[2] // tp 1, fn 2: null −2w, perfect w
	for _, c := range []struct {
		raw     float64
		windows int
		want    float64
	}{
		{-20, 10, 0}, {10, 10, 100}, {-5, 10, 50}, {-23, 10, -10},
	} {
		if got := Normalize(c.raw, c.windows, p); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Normalize(%v, %d) = %v, want %v", c.raw, c.windows, got, c.want)
		}
	}
	if got := Normalize(-1, 0, p); !math.IsNaN(got) {
		t.Errorf("Normalize with no windows = %v, want NaN", got)
	}
}

func TestProfiles(t *testing.T) {
	want := []Profile{
		{"standard", 1, 0.11, 1},
		{"reward_low_FP_rate", 1, 0.22, 1},
		{"reward_low_FN_rate", 1, 0.11, 2},
	}
	got := Profiles()
	if len(got) != len(want) {
		t.Fatalf("%d profiles", len(got))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("profile %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	got[0].FP = 9
	if Profiles()[0].FP != 0.11 {
		t.Error("Profiles shares its table with callers")
	}
}

func TestBadInput(t *testing.T) {
	ok := func() File { return synth("a", 20, [][2]int{{10, 14}}, 10) }
	cases := []struct {
		name  string
		edit  func(f *File)
		flags bool
	}{
		{"scores short", func(f *File) { f.Scores = f.Scores[:19] }, false},
		{"NaN score", func(f *File) { f.Scores[3] = math.NaN() }, false},
		{"infinite score", func(f *File) { f.Scores[3] = math.Inf(1) }, false},
		{"flags short", func(f *File) { f.Flags = nil }, true},
		{"start not a row", func(f *File) { f.Windows[0].Start = f.Windows[0].Start.Add(time.Second) }, false},
		{"end not a row", func(f *File) { f.Windows[0].End = rowTime(25) }, false},
		{"end on two rows", func(f *File) { f.Times[16] = f.Times[14] }, false},
		{"end row before start row", func(f *File) { f.Times[9], f.Times[14] = f.Times[14], f.Times[9] }, false},
		{"overlapping windows", func(f *File) {
			f.Windows = append(f.Windows, Window{rowTime(12), rowTime(16)})
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := ok()
			c.edit(&f)
			var err error
			if c.flags {
				_, err = ScoreFlags([]File{f}, standard())
			} else {
				_, err = Score([]File{f}, standard(), 0.5)
				if _, _, err2 := Optimize([]File{f}, standard()); !errors.Is(err2, ErrInput) {
					t.Errorf("Optimize: error %v, want ErrInput", err2)
				}
			}
			if !errors.Is(err, ErrInput) {
				t.Errorf("error %v, want ErrInput", err)
			} else {
				t.Log(err)
			}
		})
	}
	t.Run("duplicate key", func(t *testing.T) {
		if _, err := Score([]File{ok(), ok()}, standard(), 0.5); !errors.Is(err, ErrInput) {
			t.Errorf("error %v, want ErrInput", err)
		}
	})
	t.Run("location and monotonic clock do not matter", func(t *testing.T) {
		f := ok()
		loc := time.FixedZone("x", 3600)
		for i := range f.Times {
			f.Times[i] = f.Times[i].In(loc)
		}
		if r, err := Score([]File{f}, standard(), 0.5); err != nil || r.Raw != 1 {
			t.Errorf("raw %v, err %v", r.Raw, err)
		}
	})
}

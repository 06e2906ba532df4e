package nab

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// randomCorpus makes 1–4 files of up to 150 rows with up to 3 windows each
// (some in or across the probationary part, some one row wide) and anomaly
// scores drawn from {0, 0.1, …, top} or, half the time, uniform in [0, 1).
// Coarse scores make many rows share a threshold and many thresholds tie.
func randomCorpus(rng *rand.Rand, top float64) []File {
	files := make([]File, 1+rng.IntN(4))
	coarse := rng.IntN(2) == 0
	for fi := range files {
		n := rng.IntN(151)
		var wins [][2]int
		cur := rng.IntN(n/4 + 1)
		for range rng.IntN(4) {
			l := cur + rng.IntN(10)
			r := l + rng.IntN(12)
			if r >= n {
				break
			}
			wins = append(wins, [2]int{l, r})
			cur = r + 1 + rng.IntN(15)
		}
		f := synth(fmt.Sprintf("c/f%d.csv", fi), n, wins)
		for i := range f.Scores {
			if coarse {
				f.Scores[i] = math.Round(rng.Float64()*top*10) / 10
			} else {
				f.Scores[i] = rng.Float64()
			}
			f.Flags[i] = f.Scores[i] >= 0.5
		}
		files[fi] = f
	}
	return files
}

// randomProfile is one of NAB's profiles or one with arbitrary weights.
func randomProfile(rng *rand.Rand) Profile {
	ps := Profiles()
	if k := rng.IntN(len(ps) + 1); k < len(ps) {
		return ps[k]
	}
	return Profile{Name: "random", TP: 0.2 + 2*rng.Float64(), FP: rng.Float64(), FN: 0.2 + 2*rng.Float64()}
}

// bruteOptimize scores the corpus from scratch at every candidate
// threshold, highest first, and keeps the first best: O(N²).
func bruteOptimize(t *testing.T, files []File, p Profile) (float64, float64) {
	t.Helper()
	var cands []float64
	for _, f := range files {
		cands = append(cands, f.Scores[Probation(len(f.Scores)):]...)
	}
	slices.Sort(cands)
	cands = slices.Compact(cands)
	slices.Reverse(cands)
	start := startThreshold
	if len(cands) > 0 && cands[0] >= start {
		start = math.Nextafter(cands[0], math.Inf(1))
	}
	cands = append([]float64{start}, cands...)
	bestThr, best := math.NaN(), math.Inf(-1)
	for _, c := range cands {
		r, err := Score(files, p, c)
		if err != nil {
			t.Fatal(err)
		}
		if r.Raw > best {
			bestThr, best = c, r.Raw
		}
	}
	return bestThr, best
}

// TestOptimizeMatchesBruteForce: on many seeded random corpora the
// incremental sweep picks the threshold, and reaches the raw score, that
// scoring every candidate from scratch finds.
func TestOptimizeMatchesBruteForce(t *testing.T) {
	for seed := range uint64(250) {
		rng := rand.New(rand.NewPCG(seed, 7))
		files := randomCorpus(rng, 1.3) // scores up to 1.3: past NAB's 1.1 start
		p := randomProfile(rng)
		thr, r, err := Optimize(files, p)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		wantThr, wantRaw := bruteOptimize(t, files, p)
		if thr != wantThr || math.Abs(r.Raw-wantRaw) > 1e-9 || r.Threshold != thr {
			t.Errorf("seed %d, %+v: Optimize threshold %v raw %.15g, brute force %v raw %.15g",
				seed, p, thr, r.Raw, wantThr, wantRaw)
		}
	}
}

// nabPoint is one row as NAB's sweeper sees it (nab/sweeper.py
// AnomalyPoint).
type nabPoint struct {
	score, sweep float64
	window       string // "" outside windows, "probationary" in probation
}

// nabSweep is a line-by-line port of nab/sweeper.py calcSweepScore: it
// walks timestamps, entering a window at the row equal to its start and
// leaving it after the row equal to its end. It shares no code with the
// package's walk. Where NAB divides by zero (a false positive after a
// one-row window) it uses the package's convention, y = 2.
func nabSweep(f File, p Profile) []nabPoint {
	idx := func(t time.Time) int {
		return slices.IndexFunc(f.Times, func(u time.Time) bool { return u.Equal(t) })
	}
	sigmoid := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	scaled := func(y float64) float64 {
		if y > 3.0 {
			return -1.0
		}
		return 2*sigmoid(-5*y) - 1.0
	}
	limits := slices.Clone(f.Windows)
	maxTP := scaled(-1.0)
	probLen := math.Min(math.Floor(0.15*float64(len(f.Times))), 0.15*5000)
	var out []nabPoint
	var cur *Window
	curName, curRight, curWidth := "", 0, 0.0
	prevRight, prevWidth := -1, 0.0
	for i, t := range f.Times {
		if len(limits) > 0 && t.Equal(limits[0].Start) {
			w := limits[0]
			cur, limits = &w, limits[1:]
			curName = f.Key + "|" + w.Start.String()
			curRight = idx(w.End)
			curWidth = float64(curRight - idx(w.Start) + 1)
		}
		var weighted float64
		if cur != nil {
			pos := -float64(curRight-i+1) / curWidth
			weighted = scaled(pos) * p.TP / maxTP
		} else {
			u := -1.0
			if prevRight >= 0 {
				y := 2.0
				if prevWidth-1 != 0 {
					y = math.Abs(float64(prevRight-i)) / (prevWidth - 1)
				}
				u = scaled(y)
			}
			weighted = u * p.FP
		}
		name := curName
		if float64(i) < probLen {
			name = "probationary"
		}
		out = append(out, nabPoint{f.Scores[i], weighted, name})
		if cur != nil && t.Equal(cur.End) {
			prevRight, prevWidth = i, curWidth
			cur, curName = nil, ""
		}
	}
	return out
}

// nabThresholdScore is nab/sweeper.py ThresholdScore.
type nabThresholdScore struct {
	threshold, score float64
	tp, tn, fp, fn   int
}

// nabScoreByThreshold ports nab/sweeper.py calcScoreByThreshold.
func nabScoreByThreshold(points []nabPoint, p Profile) []nabThresholdScore {
	var list []nabPoint
	for _, x := range points {
		if x.window != "probationary" {
			list = append(list, x)
		}
	}
	slices.SortStableFunc(list, func(a, b nabPoint) int { return cmp.Compare(b.score, a.score) })
	parts := map[string]float64{"fp": 0}
	order := []string{"fp"} // Python dicts keep insertion order; so does the sum here
	tn, fn := 0, 0
	for _, x := range list {
		if x.window == "" {
			tn++
			continue
		}
		fn++
		if _, ok := parts[x.window]; !ok {
			order = append(order, x.window)
		}
		parts[x.window] = -p.FN
	}
	sum := func() float64 {
		s := 0.0
		for _, k := range order {
			s += parts[k]
		}
		return s
	}
	var out []nabThresholdScore
	cur, tp, fp := 1.1, 0, 0
	for _, x := range list {
		if x.score != cur {
			out = append(out, nabThresholdScore{cur, sum(), tp, tn, fp, fn})
			cur = x.score
		}
		if x.window != "" {
			tp++
			fn--
			parts[x.window] = math.Max(parts[x.window], x.sweep)
		} else {
			fp++
			tn--
			parts["fp"] += x.sweep
		}
	}
	return append(out, nabThresholdScore{cur, sum(), tp, tn, fp, fn})
}

// TestMatchesNABSweeper: on seeded random corpora with scores in [0, 1],
// Score at each of the thresholds NAB's sweep visits gives NAB's score and
// row counts, and Optimize picks the threshold NAB's optimizeThreshold
// picks (the first best in the sweep's order).
func TestMatchesNABSweeper(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 11))
		files := randomCorpus(rng, 1.0)
		p := randomProfile(rng)
		var points []nabPoint
		for _, f := range files {
			points = append(points, nabSweep(f, p)...)
		}
		sweep := nabScoreByThreshold(points, p)
		best := sweep[0]
		for _, s := range sweep {
			if s.score > best.score {
				best = s
			}
		}
		for _, s := range sweep {
			r, err := Score(files, p, s.threshold)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(r.Raw-s.score) > 1e-9 || r.TP != s.tp || r.TN != s.tn || r.FP != s.fp || r.FN != s.fn {
				t.Fatalf("seed %d, %+v, threshold %v: raw %.15g tp %d tn %d fp %d fn %d; NAB %.15g tp %d tn %d fp %d fn %d",
					seed, p, s.threshold, r.Raw, r.TP, r.TN, r.FP, r.FN, s.score, s.tp, s.tn, s.fp, s.fn)
			}
		}
		thr, r, err := Optimize(files, p)
		if err != nil {
			t.Fatal(err)
		}
		if thr != best.threshold || math.Abs(r.Raw-best.score) > 1e-9 {
			t.Errorf("seed %d, %+v: Optimize threshold %v raw %.15g, NAB %v raw %.15g", seed, p, thr, r.Raw, best.threshold, best.score)
		}
	}
}

// TestOptimizeLongFile exercises the 750-row probation cap and a sweep
// over tens of thousands of distinct scores against the brute force on a
// subsample of thresholds.
func TestOptimizeLongFile(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	f := synth("long.csv", 20000, [][2]int{{500, 900}, {3000, 3999}, {12000, 12999}, {19000, 19999}})
	for i := range f.Scores {
		f.Scores[i] = rng.Float64()
		if i >= 3000 && i < 3010 {
			f.Scores[i] = 0.999 + rng.Float64()/1000
		}
	}
	p := standard()
	thr, r, err := Optimize([]File{f}, p)
	if err != nil {
		t.Fatal(err)
	}
	if r.Files[0].Probation != 750 || r.Windows != 4 {
		t.Errorf("probation %d, windows %d; want 750 and 4 (window 500..900 straddles probation)", r.Files[0].Probation, r.Windows)
	}
	for range 60 {
		c := f.Scores[750+rng.IntN(len(f.Scores)-750)]
		s, err := Score([]File{f}, p, c)
		if err != nil {
			t.Fatal(err)
		}
		if s.Raw > r.Raw+1e-9 {
			t.Errorf("threshold %v scores %v, above the optimum %v at %v", c, s.Raw, r.Raw, thr)
		}
	}
}

// BenchmarkOptimize sweeps 100,000 rows: 20 files of 5,000 rows, two
// windows each.
func BenchmarkOptimize(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	files := make([]File, 20)
	for fi := range files {
		f := synth(fmt.Sprintf("b/%d.csv", fi), 5000, [][2]int{{1500, 1899}, {3500, 3899}})
		for i := range f.Scores {
			f.Scores[i] = rng.Float64()
		}
		files[fi] = f
	}
	p := standard()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Optimize(files, p); err != nil {
			b.Fatal(err)
		}
	}
}

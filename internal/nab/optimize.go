package nab

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// startThreshold is the threshold NAB's sweep starts from, above every
// anomaly score in [0, 1], so that nothing is detected (nab/sweeper.py
// calcScoreByThreshold: curThreshold = 1.1).
const startThreshold = 1.1

// Optimize finds the one threshold that maximises the raw score of the
// whole corpus under profile p, and scores the corpus at it. It follows
// nab/optimizer.py optimizeThreshold, which pools every scorable row of
// every file (nab/sweeper.py calcSweepScore), sorts them by anomaly score,
// highest first, and sweeps (calcScoreByThreshold):
//
//   - the candidates are "detect nothing" and every distinct anomaly score
//     of a row after probation, the threshold then being that score (rows
//     ≥ it are detections);
//   - "detect nothing" has threshold 1.1, as in NAB, or just above the
//     highest anomaly score when scores reach 1.1;
//   - among candidates with the same best raw score the highest threshold
//     wins (NAB sorts the candidates by score with Python's stable sort,
//     which keeps the sweep's high-to-low order among equals).
//
// The sweep is incremental: lowering the threshold past a group of equal
// scores adds those rows' false-positive scores and raises their windows'
// best true-positive scores, each in O(1), so the whole optimisation costs
// one O(N log N) sort and O(N) updates for N rows. The running total is
// kept with compensated (Neumaier) summation, so near-equal candidates are
// compared on their exact sums, not on accumulated rounding; the Result is
// then computed afresh by Score at the chosen threshold.
func Optimize(files []File, p Profile) (threshold float64, r Result, err error) {
	ps, err := prepare(files, true, false)
	if err != nil {
		return 0, Result{}, fmt.Errorf("nab optimize: %w", err)
	}
	type row struct {
		score float64
		win   int32 // corpus-wide window index, −1 outside windows
		v     float64
	}
	n := 0
	for _, f := range files {
		n += len(f.Times)
	}
	rows := make([]row, 0, n)
	nwin := 0
	for fi := range ps {
		pp := &ps[fi]
		base := nwin
		walk(pp, p, func(i, win int, v float64) {
			w := int32(-1)
			if win >= 0 {
				w = int32(base + win)
			}
			rows = append(rows, row{pp.f.Scores[i], w, v})
		})
		nwin += len(pp.spans)
	}
	slices.SortFunc(rows, func(a, b row) int { return cmp.Compare(b.score, a.score) })

	// Every window with a scorable row starts as missed: −fnWeight. The
	// others never appear in rows and so never count.
	best := make([]float64, nwin)
	var total neumaier
	for fi := range ps {
		total.add(-p.FN * float64(ps[fi].scoredWindows()))
	}
	for k := range best {
		best[k] = -p.FN
	}

	threshold = startThreshold
	if len(rows) > 0 && rows[0].score >= startThreshold {
		threshold = math.Nextafter(rows[0].score, math.Inf(1))
	}
	top := total.sum()
	for i := 0; i < len(rows); {
		s := rows[i].score
		for ; i < len(rows) && rows[i].score == s; i++ {
			x := rows[i]
			if x.win < 0 {
				total.add(x.v)
			} else if x.v > best[x.win] {
				total.add(x.v - best[x.win])
				best[x.win] = x.v
			}
		}
		if t := total.sum(); t > top {
			top, threshold = t, s
		}
	}
	r = score(ps, p, func(f *File, i int) bool { return f.Scores[i] >= threshold })
	r.Threshold = threshold
	return threshold, r, nil
}

// neumaier is a compensated running sum (Neumaier's variant of Kahan
// summation): its error stays at a few ulps of the total however many
// terms are added.
type neumaier struct{ s, c float64 }

func (n *neumaier) add(x float64) {
	t := n.s + x
	if math.Abs(n.s) >= math.Abs(x) {
		n.c += (n.s - t) + x
	} else {
		n.c += (x - t) + n.s
	}
	n.s = t
}

func (n *neumaier) sum() float64 { return n.s + n.c }

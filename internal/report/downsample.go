package report

import "math"

// minMax reduces a polyline for drawing. xs must be non-decreasing; a NaN
// y is a gap. When the line has more than 2·buckets points, the x range
// [x0, x1] is cut into buckets of equal width (one per horizontal pixel of
// the plot) and each unbroken run of finite values keeps, per bucket, only
// its minimum and its maximum, in their original order: a spike one
// reading wide still reaches its full height, and a gap of one reading
// still breaks the line. Gaps come out as a single NaN y between runs.
// Shorter lines are returned as they are (with gaps normalised the same
// way). The result never has more than 2 points per bucket and run.
func minMax(xs, ys []float64, x0, x1 float64, buckets int) (ox, oy []float64) {
	n := min(len(xs), len(ys))
	reduce := buckets > 0 && n > 2*buckets && x1 > x0
	width := (x1 - x0) / float64(buckets)
	capHint := n
	if reduce {
		capHint = 2*buckets + 16
	}
	ox = make([]float64, 0, capHint)
	oy = make([]float64, 0, capHint)

	gap := func() {
		if len(oy) > 0 && !math.IsNaN(oy[len(oy)-1]) {
			ox = append(ox, ox[len(ox)-1])
			oy = append(oy, math.NaN())
		}
	}
	if !reduce {
		for i := range n {
			if !finite(ys[i]) {
				gap()
				continue
			}
			ox = append(ox, xs[i])
			oy = append(oy, ys[i])
		}
		return trimGap(ox, oy)
	}

	bucket := -1
	lo, hi := -1, -1 // indexes of the bucket's minimum and maximum
	flush := func() {
		switch {
		case lo < 0:
		case lo == hi:
			ox, oy = append(ox, xs[lo]), append(oy, ys[lo])
		case lo < hi:
			ox, oy = append(ox, xs[lo], xs[hi]), append(oy, ys[lo], ys[hi])
		default:
			ox, oy = append(ox, xs[hi], xs[lo]), append(oy, ys[hi], ys[lo])
		}
		lo, hi = -1, -1
	}
	for i := range n {
		y := ys[i]
		if !finite(y) {
			flush()
			gap()
			bucket = -1
			continue
		}
		b := int((xs[i] - x0) / width)
		b = max(0, min(buckets-1, b))
		if b != bucket {
			flush()
			bucket = b
		}
		if lo < 0 || y < ys[lo] {
			lo = i
		}
		if hi < 0 || y > ys[hi] {
			hi = i
		}
	}
	flush()
	return trimGap(ox, oy)
}

// trimGap drops a trailing gap marker.
func trimGap(xs, ys []float64) ([]float64, []float64) {
	if k := len(ys); k > 0 && math.IsNaN(ys[k-1]) {
		return xs[:k-1], ys[:k-1]
	}
	return xs, ys
}

// thinMarkers keeps at most one of the marked points per bucket of the x
// range (the one with the largest y), so that thousands of flagged
// readings do not turn into thousands of overlapping circles. Points with a
// non-finite y are dropped.
func thinMarkers(xs, ys []float64, mark []bool, x0, x1 float64, buckets int) (ox, oy []float64) {
	n := min(len(xs), len(ys), len(mark))
	width := 0.0
	if buckets > 0 && x1 > x0 {
		width = (x1 - x0) / float64(buckets)
	}
	last := -1
	for i := range n {
		if !mark[i] || !finite(ys[i]) {
			continue
		}
		b := i
		if width > 0 {
			b = max(0, min(buckets-1, int((xs[i]-x0)/width)))
		}
		if b == last && len(oy) > 0 {
			if ys[i] > oy[len(oy)-1] {
				ox[len(ox)-1], oy[len(oy)-1] = xs[i], ys[i]
			}
			continue
		}
		last = b
		ox, oy = append(ox, xs[i]), append(oy, ys[i])
	}
	return ox, oy
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

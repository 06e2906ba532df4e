package dynthreshold

import (
	"fmt"
	"math"
	"slices"
)

// ReferenceParams are the parameters of the batch reference, Telemanom's
// nonparametric dynamic threshold. DefaultReferenceParams returns the
// published defaults (telemanom config.yaml).
type ReferenceParams struct {
	Batch         int     // batch_size: readings evaluated per window step (70)
	Windows       int     // window_size: trailing batches in the history, h = Batch·Windows (30)
	SmoothingSpan int     // EWMA span, int(batch_size·window_size·smoothing_perc) = 105
	ErrorBuffer   int     // error_buffer: readings added around an exceedance (100)
	P             float64 // p: minimum relative separation used in pruning (0.13)
	MinSpread     float64 // the 0.05 of the scale checks against the values' spread
	MinError      float64 // the absolute 0.05 a window's largest smoothed error must exceed
	SDLim         float64 // sd_lim: z used when no candidate qualifies (12)
	// SeqLen is l_s, the model's input length (250). Telemanom replaces the
	// first l_s smoothed errors by the mean of the first 2·l_s and ignores
	// the first 2·l_s (l_s if the series is shorter than 2500, none below
	// 1800) when flagging the first window. Zero disables both.
	SeqLen int
}

// DefaultReferenceParams returns Telemanom's published defaults.
func DefaultReferenceParams() ReferenceParams {
	return ReferenceParams{
		Batch:         70,
		Windows:       30,
		SmoothingSpan: 105,
		ErrorBuffer:   100,
		P:             0.13,
		MinSpread:     0.05,
		MinError:      0.05,
		SDLim:         12,
		SeqLen:        250,
	}
}

// Span is an inclusive range [Start, End] of reading indices.
type Span struct{ Start, End int }

// RefWindow describes one evaluated window of the reference.
type RefWindow struct {
	Start, End int     // the window covers readings [Start, End)
	Mean, Std  float64 // μ and σ of the smoothed errors in the window
	Z, ZInv    float64 // the z chosen for the errors and for the inverted errors
}

// ReferenceResult is the output of Reference.
type ReferenceResult struct {
	Smoothed  []float64   // e_s, the smoothed errors (after Telemanom's head replacement)
	Flagged   []bool      // per reading: in the final anomalous index set i_anom
	Sequences []Span      // E_seq: runs of flagged readings, single readings excluded as in Telemanom
	Windows   []RefWindow // one entry per evaluated window
}

// Smooth returns the bias-corrected exponentially weighted moving average of
// e with the given span (pandas ewm(span).mean(), adjust=True):
//
//	α = 2/(span+1),  e_s[t] = Σ_{k≤t} (1−α)^k e[t−k] / Σ_{k≤t} (1−α)^k
//
// with the numerator and the denominator accumulated separately. It panics if
// span < 1.
func Smooth(e []float64, span int) []float64 {
	if span < 1 {
		panic(fmt.Sprintf("dynthreshold: smoothing span %d < 1", span))
	}
	decay := 1 - 2/float64(span+1)
	out := make([]float64, len(e))
	var num, den float64
	for i, v := range e {
		num = v + decay*num
		den = 1 + decay*den
		out[i] = num / den
	}
	return out
}

// Reference runs Telemanom's nonparametric dynamic threshold over a whole
// series in batch, as telemanom/errors.py does (Errors.process_batches,
// ErrorWindow.find_epsilon, compare_to_epsilon and prune_anoms; Hundman et
// al., "Detecting Spacecraft Anomalies Using LSTMs and Nonparametric Dynamic
// Thresholding", KDD 2018, arXiv:1802.04431). values are the readings y_t and
// errs the prediction errors |y_t − ŷ_t|.
//
// It follows the code rather than the paper where they differ: |e_a| in the
// score is the number of readings in the buffered sequences (len(i_anom)
// after growing each exceedance by error_buffer−1 on each side), flagging
// grows each exceedance by error_buffer on each side but keeps only indices
// in the window's newest batch (all of the first window), and pruning
// compares against the largest smoothed error of the window that is neither
// flagged before nor a candidate now.
//
// Reference is a test oracle: it is O(n·h) per series and allocates freely.
// It panics if the slices differ in length or the parameters are not
// positive, and returns an error if an input is not finite.
func Reference(values, errs []float64, p ReferenceParams) (ReferenceResult, error) {
	if len(values) != len(errs) {
		panic(fmt.Sprintf("dynthreshold: %d values but %d errors", len(values), len(errs)))
	}
	if p.Batch < 1 || p.Windows < 1 || p.ErrorBuffer < 1 || p.SmoothingSpan < 1 {
		panic(fmt.Sprintf("dynthreshold: bad reference parameters %+v", p))
	}
	for i := range values {
		if !isFinite(values[i]) || !isFinite(errs[i]) {
			return ReferenceResult{}, fmt.Errorf("reading %d: value %v, error %v: %w", i, values[i], errs[i], ErrInvalidReading)
		}
	}
	n := len(values)
	es := Smooth(errs, p.SmoothingSpan)
	if ls := p.SeqLen; ls > 0 && n > 0 {
		// for values at beginning < sequence length, just use avg
		m := mean(es[:min(2*ls, n)])
		for i := 0; i < min(ls, n); i++ {
			es[i] = m
		}
	}
	res := ReferenceResult{Smoothed: es, Flagged: make([]bool, n)}
	if n == 0 {
		return res, nil
	}

	// Number of windows, with Python's truncating int() and
	// adjust_window_size.
	ws := p.Windows
	nWindows := truncDiv(n-p.Batch*ws, p.Batch)
	for nWindows < 0 {
		ws--
		nWindows = truncDiv(n-p.Batch*ws, p.Batch)
		if ws <= 1 && nWindows < 0 {
			// Telemanom raises here; a single window over everything is
			// the closest meaningful answer for a test oracle.
			nWindows = 0
		}
	}
	numToIgnore := 2 * p.SeqLen
	if n < 2500 {
		numToIgnore = p.SeqLen
	}
	if n < 1800 {
		numToIgnore = 0
	}

	allAnom := make([]bool, n) // errors_all.i_anom
	h := p.Batch * p.Windows
	for w := 0; w <= nWindows; w++ {
		lo := w * p.Batch
		hi := h + w*p.Batch
		if w == nWindows || hi > n {
			hi = n
		}
		rw := refWindow{p: p, num: w, lo: lo, es: es[lo:hi], y: values[lo:hi], ignore: numToIgnore}
		rw.init()
		rw.z, rw.eps = rw.findEpsilon(rw.es)
		rw.zInv, rw.epsInv = rw.findEpsilon(rw.esInv)
		iA, seqA, namA := rw.compare(rw.es, rw.eps, allAnom)
		iI, seqI, namI := rw.compare(rw.esInv, rw.epsInv, allAnom)
		iA = prune(iA, seqA, rw.es, namA, p.P)
		iI = prune(iI, seqI, rw.esInv, namI, p.P)
		for _, i := range iA {
			allAnom[lo+i] = true
		}
		for _, i := range iI {
			allAnom[lo+i] = true
		}
		res.Windows = append(res.Windows, RefWindow{Start: lo, End: hi, Mean: rw.mean, Std: rw.sd, Z: rw.z, ZInv: rw.zInv})
	}
	copy(res.Flagged, allAnom)
	for _, g := range groups(indicesOf(allAnom)) {
		if g.End > g.Start {
			res.Sequences = append(res.Sequences, g)
		}
	}
	return res, nil
}

// refWindow is ErrorWindow.
type refWindow struct {
	p      ReferenceParams
	num    int // window_num
	lo     int // prior_idx
	ignore int // num_to_ignore

	es, esInv, y []float64
	mean, sd     float64
	sdValues     float64
	interRange   float64
	z, zInv      float64
	eps, epsInv  float64
}

func (w *refWindow) init() {
	w.mean = mean(w.es)
	w.sd = std(w.es, w.mean)
	w.esInv = make([]float64, len(w.es))
	for i, e := range w.es {
		w.esInv[i] = w.mean + (w.mean - e)
	}
	w.z, w.zInv = w.p.SDLim, w.p.SDLim
	w.eps = w.mean + w.p.SDLim*w.sd
	w.epsInv = w.eps
	w.sdValues = std(w.y, mean(w.y))
	sorted := slices.Clone(w.y)
	slices.Sort(sorted)
	w.interRange = percentileSorted(sorted, 95) - percentileSorted(sorted, 5)
}

// findEpsilon is ErrorWindow.find_epsilon: it returns the z (and ε = μ + zσ)
// maximising (Δμ/μ + Δσ/σ)/(|E_seq|² + |i_anom|) among the z in
// 2.5, 3.0, … below sd_lim whose buffered sequences number at most 5 and
// cover less than half of the window; sd_lim if none qualifies. Ties go to
// the larger z (the original iterates upwards and keeps score ≥ max).
func (w *refWindow) findEpsilon(e []float64) (z, eps float64) {
	z, eps = w.p.SDLim, w.mean+w.p.SDLim*w.sd
	maxScore := -10000000.0
	n := len(e)
	exceed := make([]int, 0, n)
	for k := 0; ; k++ {
		zc := 2.5 + 0.5*float64(k)
		if zc >= w.p.SDLim {
			break
		}
		epsilon := w.mean + w.sd*zc
		// pruned_e_s = e_s[e_s < epsilon]; its mean and std in two passes.
		exceed = exceed[:0]
		var ps float64
		np := 0
		for i, v := range e {
			if v < epsilon {
				ps += v
				np++
			}
			if v >= epsilon {
				exceed = append(exceed, i)
			}
		}
		// buffer = np.arange(1, error_buffer): B−1 readings on each side.
		nAnom, nSeq := bufferedRuns(exceed, w.p.ErrorBuffer-1, n)
		if nAnom == 0 {
			continue
		}
		pm, psd := math.NaN(), math.NaN()
		if np > 0 {
			pm = ps / float64(np)
			var ss float64
			for _, v := range e {
				if v < epsilon {
					ss += (v - pm) * (v - pm)
				}
			}
			psd = math.Sqrt(ss / float64(np))
		}
		meanPercDecrease := (w.mean - pm) / w.mean
		sdPercDecrease := (w.sd - psd) / w.sd
		score := (meanPercDecrease + sdPercDecrease) / float64(nSeq*nSeq+nAnom)
		if score >= maxScore && nSeq <= 5 && float64(nAnom) < float64(n)*0.5 {
			maxScore = score
			z, eps = zc, w.mean+zc*w.sd
		}
	}
	return z, eps
}

// bufferedRuns returns the size of the union of [i−b, i+b] ∩ [0, n) over
// the sorted indices idx, and the number of its runs of consecutive
// indices longer than one: len(i_anom) and len(E_seq) without building
// them.
func bufferedRuns(idx []int, b, n int) (size, runs int) {
	cs, ce := 0, -2
	for k, i := range idx {
		s, e := max(i-b, 0), min(i+b, n-1)
		if k == 0 || s > ce+1 {
			if k > 0 {
				size += ce - cs + 1
				if ce > cs {
					runs++
				}
			}
			cs, ce = s, e
		} else if e > ce {
			ce = e
		}
	}
	if len(idx) > 0 {
		size += ce - cs + 1
		if ce > cs {
			runs++
		}
	}
	return size, runs
}

// compare is ErrorWindow.compare_to_epsilon. It returns the anomalous
// indices (window-relative), their sequences and non_anom_max.
func (w *refWindow) compare(e []float64, epsilon float64, allAnom []bool) (iAnom []int, seqs []Span, nonAnomMax float64) {
	nonAnomMax = -1000000
	maxES := slices.Max(w.es)
	if !(w.sd > w.p.MinSpread*w.sdValues || maxES > w.p.MinSpread*w.interRange) || !(maxES > w.p.MinError) {
		return nil, nil, nonAnomMax
	}
	var exceed []int
	for i, v := range e {
		if v >= epsilon && v > w.p.MinSpread*w.interRange {
			exceed = append(exceed, i)
		}
	}
	if len(exceed) == 0 {
		return nil, nil, nonAnomMax
	}
	from := len(e) - w.p.Batch
	if w.num == 0 {
		from = w.ignore
	}
	iAnom = grow(exceed, w.p.ErrorBuffer, max(from, 0), len(e))

	cand := make([]bool, len(e))
	for _, i := range iAnom {
		cand[i] = true
	}
	nonAnomMax = math.Inf(-1) // np.max of an empty set raises; -Inf keeps every sequence
	for i, v := range e {
		if !allAnom[w.lo+i] && !cand[i] && v > nonAnomMax {
			nonAnomMax = v
		}
	}
	for _, g := range groups(iAnom) {
		if g.End > g.Start {
			seqs = append(seqs, g)
		}
	}
	return iAnom, seqs, nonAnomMax
}

// prune is ErrorWindow.prune_anoms: sort the maxima of the sequences
// descending, append non_anom_max, and remove every sequence whose maximum
// follows the last step with a relative decrease of at least p. An empty
// sequence list leaves iAnom untouched, as in the original.
func prune(iAnom []int, seqs []Span, e []float64, nonAnomMax, p float64) []int {
	if len(seqs) == 0 {
		return iAnom
	}
	seqMax := make([]float64, len(seqs))
	for k, s := range seqs {
		seqMax[k] = slices.Max(e[s.Start : s.End+1])
	}
	sorted := slices.Clone(seqMax)
	slices.Sort(sorted)
	slices.Reverse(sorted)
	sorted = append(sorted, nonAnomMax)
	var remove []float64 // maxima whose sequences are removed
	for i := 0; i < len(sorted)-1; i++ {
		if (sorted[i]-sorted[i+1])/sorted[i] < p {
			remove = append(remove, sorted[i])
		} else {
			remove = remove[:0]
		}
	}
	var keep []Span
	for k, s := range seqs {
		if !slices.Contains(remove, seqMax[k]) {
			keep = append(keep, s)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	out := iAnom[:0:0]
	for _, i := range iAnom {
		for _, s := range keep {
			if i >= s.Start && i <= s.End {
				out = append(out, i)
				break
			}
		}
	}
	return out
}

// grow returns the sorted union of [i−b, i+b] over the sorted indices idx,
// clipped to [lo, n).
func grow(idx []int, b, lo, n int) []int {
	var out []int
	next := lo // first index not yet emitted
	for _, i := range idx {
		s, e := max(i-b, next), min(i+b, n-1)
		for j := s; j <= e; j++ {
			out = append(out, j)
		}
		next = max(next, e+1)
	}
	return out
}

// groups splits sorted distinct indices into runs of consecutive integers
// (more_itertools.consecutive_groups).
func groups(idx []int) []Span {
	var out []Span
	for k, i := range idx {
		if k > 0 && i == idx[k-1]+1 {
			out[len(out)-1].End = i
			continue
		}
		out = append(out, Span{i, i})
	}
	return out
}

func indicesOf(b []bool) []int {
	var out []int
	for i, v := range b {
		if v {
			out = append(out, i)
		}
	}
	return out
}

// truncDiv is Python's int(a / b): division truncated towards zero.
func truncDiv(a, b int) int { return a / b }

func mean(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// std is the population standard deviation (numpy's np.std, ddof = 0).
func std(x []float64, m float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	var s float64
	for _, v := range x {
		d := v - m
		s += d * d
	}
	return math.Sqrt(s / float64(len(x)))
}

// percentileSorted is numpy's default (linear) percentile of sorted data:
// rank q/100·(n−1), interpolated between its neighbours.
func percentileSorted(s []float64, q float64) float64 {
	n := len(s)
	if n == 0 {
		return math.NaN()
	}
	r := q / 100 * float64(n-1)
	i := int(r)
	if i >= n-1 {
		return s[n-1]
	}
	f := r - float64(i)
	return s[i] + f*(s[i+1]-s[i])
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

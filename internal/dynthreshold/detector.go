package dynthreshold

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// Reading is one input of a Detector: the reading's event time, its value
// y_t and the model's prediction error |y_t − ŷ_t|.
type Reading struct {
	Time  time.Time
	Value float64
	Error float64
}

// Direction says on which side of the window's mean a smoothed error lies
// (or was flagged): Up for errors larger than usual, Down for errors smaller
// than usual (Telemanom's inverted errors).
type Direction uint8

// Directions.
const (
	Up Direction = iota
	Down
)

func (d Direction) String() string {
	if d == Down {
		return "down"
	}
	return "up"
}

// EventKind is an episode transition reported with a Decision.
type EventKind uint8

// Episode transitions.
const (
	EventNone    EventKind = iota
	EventOpened            // first flagged reading of a new episode
	EventUpdated           // a flagged reading raised the episode's peak score
	EventClosed            // the quiet period elapsed: the episode is over
)

func (k EventKind) String() string {
	switch k {
	case EventOpened:
		return "opened"
	case EventUpdated:
		return "updated"
	case EventClosed:
		return "closed"
	}
	return "none"
}

// Episode is a run of flagged readings that alerting treats as one
// incident. Its ID is the sequence number of its first reading, so it is
// deterministic; combine it with the series key for a global identifier.
type Episode struct {
	ID        uint64    // Seq of the opening reading
	Last      uint64    // Seq of the last flagged reading
	StartTime time.Time // event clock (largest event time seen) at the opening reading
	LastTime  time.Time // event clock at the last flagged reading
	Flagged   uint64    // flagged readings in the episode
	Peak      float64   // highest score
	PeakES    float64   // smoothed error at the peak
	PeakSeq   uint64    // Seq of the peak
}

// Decision is the Detector's verdict on one reading, with its explanation.
// Thresholds and ε are in smoothed-error units.
type Decision struct {
	Seq  uint64    // 0-based index of the reading in the series
	Time time.Time // the reading's event time

	Flagged bool    // the smoothed error crossed the threshold in force
	Score   float64 // in [0, 1]; ≥ 0.5 exactly when Flagged (see Score below)
	WarmUp  bool    // the threshold came from the Prior: the window is still short

	E  float64 // the prediction error e_t
	ES float64 // the smoothed error e_s

	// The threshold in force, for the side of the mean the reading lies on
	// (Direction). For Down, ε and Threshold are lower bounds:
	// e_s ≤ 2μ − ε_inv.
	Direction Direction
	Mu, Sigma float64 // μ and σ of the smoothed errors in the window (the prior's during warm-up)
	Z         float64 // the z of ε = μ ± zσ (for the simpler rules, the equivalent (ε−μ)/σ)
	Epsilon   float64 // ε of the rule
	Threshold float64 // the effective threshold: ε raised by the spread floor and pruning
	// Pruned is true when e_s crossed ε but pruning kept it below the
	// effective threshold: its peak did not stand p above the largest
	// normal error of the window.
	Pruned bool
	// Floored is true when e_s crossed ε but was not above the minimum
	// relative to the values' spread, or the window failed Telemanom's
	// scale check.
	Floored bool

	// Episode transition for this reading, and the episode it concerns
	// (the open one, or the one just closed). CoolDown is true for a
	// flagged reading that opened no episode because of the cool-down.
	Event     EventKind
	InEpisode bool
	Episode   Episode
	CoolDown  bool
}

// threshold is the threshold in force, recomputed every Batch readings.
type threshold struct {
	warm, gate   bool
	mu, sigma    float64
	zUp, zDown   float64
	epsUp        float64 // ε on the smoothed errors
	epsDown      float64 // ε_inv on the inverted errors 2μ − e_s
	floor        float64 // smallest value above MinSpread·(P95 − P5) of the values
	up, down     float64 // effective thresholds: flag e_s ≥ up, or 2μ − e_s ≥ down
	inverseArmed bool
}

// episodeState is the episode bookkeeping of a Detector.
type episodeState struct {
	open, closed bool
	id, last     uint64
	startT       int64
	lastT        int64
	flagged      uint64
	peak, peakES float64
	peakSeq      uint64
	closedSeq    uint64
	closedT      int64
}

// Detector turns one series' prediction errors into decisions. Create it
// with New; feed it every reading in order with Observe. A Detector is per
// series and not safe for concurrent use; Observe never blocks and
// allocates nothing in steady state (the recomputation's working memory
// comes from a pool shared by all detectors).
type Detector struct {
	cfg   Config
	prior Prior

	n, w, h int     // batch, windows, history
	decay   float64 // 1 − α of the EWMA

	seen      uint64  // readings observed
	num, den  float64 // EWMA numerator and denominator
	clock     int64   // largest event time seen (UnixNano)
	th        threshold
	ep        episodeState
	esQ, yQ   []uint16  // ring of completed batches, quantised; slot (b mod w)·n + j
	esLo, esD []float32 // per batch slot: e_s ≈ lo + q·d
	yLo, yD   []float32
	pendES    []float32 // the batch being filled
	pendY     []float32
	// derived from the ring, not encoded: per batch slot, the mean and the
	// sum of squared deviations of the dequantised values
	yMean, yM2 []float64
	excl       []uint64 // per ring slot (b mod w)·n + j: flagged, grown by the error buffer within its batch

	// sc is the recomputation's working memory, taken from scratchPool
	// for the duration of a batch completion only, so that an idle series
	// holds its state (about 9 KB at h = 2100) and not 70 KB of buffers.
	sc *scratch
}

// scratch is working memory for recomputation; it is not state.
type scratch struct {
	es, tmp []float64
	cand    []cand
	zbits   []uint64
	slots   []int
	heap    []cursor
	grown   []bool    // per reading of the newest batch
	runs    []Span    // runs of grown readings
	runMax  []float64 // their maxima
	sorted  []float64
	remove  []float64
}

// scratchPool shares working memory between the detectors of a process:
// one per goroutine recomputing at a time.
var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// takeScratch sets d.sc to working memory sized for d; giveScratch
// returns it.
func (d *Detector) takeScratch() {
	sc := scratchPool.Get().(*scratch)
	h, n, w := d.h, d.n, d.w
	if cap(sc.es) < h {
		sc.es, sc.tmp = make([]float64, h), make([]float64, h)
		sc.cand, sc.zbits = make([]cand, h), make([]uint64, (h+63)/64)
	}
	if cap(sc.slots) < w {
		sc.slots, sc.heap = make([]int, w), make([]cursor, 0, w)
	}
	if cap(sc.grown) < n {
		sc.grown, sc.runs = make([]bool, n), make([]Span, 0, n)
		sc.runMax, sc.sorted, sc.remove = make([]float64, 0, n), make([]float64, 0, n+1), make([]float64, 0, n)
	}
	sc.es, sc.tmp, sc.cand, sc.zbits = sc.es[:h], sc.tmp[:h], sc.cand[:h], sc.zbits[:(h+63)/64]
	sc.slots, sc.grown = sc.slots[:w], sc.grown[:n]
	d.sc = sc
}

func (d *Detector) giveScratch() {
	scratchPool.Put(d.sc)
	d.sc = nil
}

// batchStats caches the mean and sum of squared deviations of the values of
// batch slot pos.
func (d *Detector) batchStats(pos int) {
	var s float64
	for j := 0; j < d.n; j++ {
		s += d.yAt(pos, j)
	}
	m := s / float64(d.n)
	var m2 float64
	for j := 0; j < d.n; j++ {
		dv := d.yAt(pos, j) - m
		m2 += dv * dv
	}
	d.yMean[pos], d.yM2[pos] = m, m2
}

type cand struct {
	x   float64
	pos int32
}

// New returns a Detector for one series. prior holds the model's validation
// error statistics: it sets the threshold until the window holds
// cfg.WarmUp readings (a zero Prior flags nothing during warm-up).
func New(cfg Config, prior Prior) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := prior.Validate(); err != nil {
		return nil, err
	}
	h := cfg.History()
	d := &Detector{
		cfg:    cfg,
		prior:  prior,
		n:      cfg.Batch,
		w:      cfg.Windows,
		h:      h,
		decay:  1 - 2/float64(cfg.SmoothingSpan+1),
		esQ:    make([]uint16, h),
		yQ:     make([]uint16, h),
		esLo:   make([]float32, cfg.Windows),
		esD:    make([]float32, cfg.Windows),
		yLo:    make([]float32, cfg.Windows),
		yD:     make([]float32, cfg.Windows),
		pendES: make([]float32, 0, cfg.Batch),
		pendY:  make([]float32, 0, cfg.Batch),
		excl:   make([]uint64, (h+63)/64),
		yMean:  make([]float64, cfg.Windows),
		yM2:    make([]float64, cfg.Windows),
	}
	d.th = d.warmThreshold()
	return d, nil
}

// Threshold describes the threshold in force, in smoothed-error units, for
// metrics and inspection.
type Threshold struct {
	WarmUp    bool    // taken from the Prior
	Mu, Sigma float64 // of the window (the prior's in warm-up)
	ZUp       float64 // z of the upper ε (the equivalent (ε−μ)/σ for the simpler rules)
	ZDown     float64 // z of the inverted errors' ε (telemanom)
	Epsilon   float64 // upper ε
	Upper     float64 // effective upper threshold: flag e_s ≥ Upper (+Inf: none)
	Lower     float64 // effective lower threshold: flag e_s ≤ Lower (−Inf: none)
}

// Threshold returns the threshold in force.
func (d *Detector) Threshold() Threshold {
	t := d.th
	lower := math.Inf(-1)
	if t.inverseArmed && !math.IsInf(t.down, 1) {
		lower = t.mu - (t.down - t.mu)
	}
	return Threshold{WarmUp: t.warm, Mu: t.mu, Sigma: t.sigma, ZUp: t.zUp, ZDown: t.zDown, Epsilon: t.epsUp, Upper: t.up, Lower: lower}
}

// Seen returns the number of readings observed.
func (d *Detector) Seen() uint64 { return d.seen }

// Config returns the detector's configuration.
func (d *Detector) Config() Config { return d.cfg }

// warmThreshold is the threshold before the window holds WarmUp readings:
// max(μ_v + k·σ_v, P99.9_v) of the prior's validation errors, flagging
// strictly above it; +Inf for a zero prior. The fixed rule uses its
// constant from the start.
func (d *Detector) warmThreshold() threshold {
	p := d.prior
	t := threshold{warm: true, mu: p.Mean, sigma: p.Std, zUp: d.cfg.WarmUpSigma, epsUp: math.Inf(1), up: math.Inf(1), down: math.Inf(1)}
	if d.cfg.Rule == RuleFixed {
		v := d.cfg.Fixed
		if v == 0 {
			v = p.P999
			if v == 0 {
				v = p.Max
			}
		}
		t.warm = false
		t.epsUp, t.up = v, math.Nextafter(v, math.Inf(1))
		t.zUp = equivZ(v, p.Mean, p.Std)
		if d.prior.IsZero() && d.cfg.Fixed == 0 {
			t.epsUp, t.up = math.Inf(1), math.Inf(1)
		}
		return t
	}
	if p.IsZero() {
		return t
	}
	v := max(p.Mean+d.cfg.WarmUpSigma*p.Std, p.P999)
	t.epsUp, t.up = v, math.Nextafter(v, math.Inf(1))
	return t
}

func equivZ(v, mu, sd float64) float64 {
	if sd > 0 {
		return (v - mu) / sd
	}
	return 0
}

// Observe decides on reading r when it arrives, with the threshold in
// force, then records it; every Batch readings it recomputes the threshold
// over the last h readings. It returns an error wrapping ErrInvalidReading,
// and leaves the state unchanged, if the value or error is not finite or
// the error is negative.
func (d *Detector) Observe(r Reading) (Decision, error) {
	if !isFinite(r.Value) || !isFinite(r.Error) || r.Error < 0 {
		return Decision{}, fmt.Errorf("dynthreshold: reading %d: value %v, error %v: %w", d.seen, r.Value, r.Error, ErrInvalidReading)
	}
	seq := d.seen
	d.seen++
	d.num = r.Error + d.decay*d.num
	d.den = 1 + d.decay*d.den
	es := d.num / d.den
	t := r.Time.UnixNano()
	if t > d.clock || seq == 0 {
		d.clock = t
	}

	dec := d.decide(es)
	dec.Seq, dec.Time, dec.E = seq, r.Time, r.Error

	// Record the reading in the batch being filled.
	j := len(d.pendES)
	d.pendES = append(d.pendES, float32(es))
	d.pendY = append(d.pendY, float32(r.Value))
	slot := int((seq/uint64(d.n))%uint64(d.w))*d.n + j
	setBit(d.excl, slot, dec.Flagged)
	if len(d.pendES) == d.n {
		d.completeBatch(seq / uint64(d.n))
	}

	d.episode(&dec, seq, dec.Flagged)
	return dec, nil
}

// decide compares e_s with the threshold in force.
func (d *Detector) decide(es float64) Decision {
	th := &d.th
	dec := Decision{ES: es, WarmUp: th.warm, Mu: th.mu, Sigma: th.sigma}
	upF := es >= th.up
	rUp := ratio(es, th.up)
	var inv, rDown float64
	downF := false
	if th.inverseArmed {
		inv = th.mu + (th.mu - es)
		downF = inv >= th.down
		rDown = ratio(inv, th.down)
	}
	dec.Flagged = upF || downF
	dec.Direction = Up
	if !upF && (downF || (th.inverseArmed && es < th.mu)) {
		dec.Direction = Down
	}
	rho := rUp
	if dec.Direction == Down {
		rho = rDown
	}
	dec.Score = score(rho, dec.Flagged)

	var x, eps, eff float64
	if dec.Direction == Up {
		x, eps, eff = es, th.epsUp, th.up
		dec.Z, dec.Epsilon, dec.Threshold = th.zUp, th.epsUp, th.up
	} else {
		x, eps, eff = inv, th.epsDown, th.down
		dec.Z, dec.Epsilon, dec.Threshold = th.zDown, th.mu-(th.epsDown-th.mu), th.mu-(th.down-th.mu)
	}
	if !dec.Flagged && x >= eps && !th.warm && d.cfg.Rule == RuleTelemanom {
		if !th.gate || x < th.floor {
			dec.Floored = true
		} else if x < eff {
			dec.Pruned = true
		}
	}
	return dec
}

// ratio is x/θ for positive x and finite positive θ, else 0.
func ratio(x, th float64) float64 {
	if !(x > 0) || !(th > 0) || math.IsInf(th, 1) {
		return 0
	}
	return x / th
}

// score maps the exceedance ratio ρ = e_s/θ (or (2μ − e_s)/θ_inv for drops)
// to [0, 1]:
//
//	score = ρ/(1+ρ)
//
// which is 0 at ρ = 0, 0.5 at the threshold and tends to 1; it is
// increasing in ρ. Rounding near ρ = 1 is resolved by the decision itself:
// flagged readings score at least 0.5, others strictly less.
func score(rho float64, flagged bool) float64 {
	var s float64
	switch {
	case math.IsInf(rho, 1):
		s = 1
	case rho > 0:
		s = rho / (1 + rho)
	}
	if flagged {
		return max(s, 0.5)
	}
	return min(s, belowHalf)
}

var belowHalf = math.Nextafter(0.5, 0)

// AlertScore is the score of the alert this reading raises: Score if the
// reading opened an episode (the one alert of an incident), otherwise Score
// capped just below 0.5. So AlertScore ≥ 0.5 exactly when Event is
// EventOpened, and among opening readings it is increasing in the
// exceedance, as Score is. Flagged readings inside an open episode, and
// those held back by the cool-down, are part of an incident already
// alerted on and score as the highest unflagged readings do.
//
// It is the quantity to rank detections by when each reading above a
// threshold counts as a separate detection, as in the Numenta Anomaly
// Benchmark: Score stays above 0.5 for as long as an excursion lasts, and
// every such reading outside a labelled window would count as a false
// positive, whereas the consumer alerts once per episode.
func (d *Decision) AlertScore() float64 {
	if d.Event == EventOpened {
		return d.Score
	}
	return min(d.Score, belowHalf)
}

// completeBatch quantises the filled batch b into its ring slot and, once
// the window is long enough, recomputes the threshold.
func (d *Detector) completeBatch(b uint64) {
	pos := int(b % uint64(d.w))
	base := pos * d.n
	d.takeScratch()
	// Grow flags by the error buffer within the batch (compare_to_epsilon
	// keeps only the newest batch's indices), so that they are excluded
	// from the largest normal error as in the original.
	if d.cfg.Rule == RuleTelemanom {
		last := -1 << 30
		// forward pass: distance to the previous flag
		for j := 0; j < d.n; j++ {
			if getBit(d.excl, base+j) {
				last = j
			}
			if j-last <= d.cfg.ErrorBuffer {
				d.sc.grown[j] = true
			} else {
				d.sc.grown[j] = false
			}
		}
		next := 1 << 30
		for j := d.n - 1; j >= 0; j-- {
			if getBit(d.excl, base+j) {
				next = j
			}
			setBit(d.excl, base+j, d.sc.grown[j] || next-j <= d.cfg.ErrorBuffer)
		}
	}
	d.esLo[pos], d.esD[pos] = quantise(d.pendES, d.esQ[base:base+d.n])
	// Only the values' distribution is used, not their order: store them
	// sorted so that percentiles merge batches instead of selecting.
	slices.Sort(d.pendY)
	d.yLo[pos], d.yD[pos] = quantise(d.pendY, d.yQ[base:base+d.n])
	d.batchStats(pos)
	d.pendES, d.pendY = d.pendES[:0], d.pendY[:0]
	if d.cfg.Rule != RuleFixed && d.seen >= uint64(d.cfg.WarmUp) {
		d.recompute()
	}
	d.giveScratch()
}

// quantise stores x as 16-bit codes over the batch's range:
// x ≈ lo + q·step with step = (max − min)/65535, both float32.
func quantise(x []float32, q []uint16) (lo, step float32) {
	lo, hi := x[0], x[0]
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	step = float32((float64(hi) - float64(lo)) / 65535)
	for j, v := range x {
		c := 0.0
		if step > 0 {
			c = math.Round((float64(v) - float64(lo)) / float64(step))
		}
		q[j] = uint16(min(max(c, 0), 65535))
	}
	return lo, step
}

func dequantise(lo, step float32, q uint16) float64 {
	return float64(lo) + float64(q)*float64(step)
}

// recompute sets the threshold in force from the last min(seen, h)
// readings: O(h) passes for the smoothed errors, O(w log w + h/20) for the
// values' percentiles (their batches are stored sorted) and the z search
// described at search.
func (d *Detector) recompute() {
	m := int(min(d.seen, uint64(d.h)))
	nb := m / d.n
	fb := (d.seen - uint64(m)) / uint64(d.n)
	slots := d.sc.slots[:nb]
	for k := range slots {
		slots[k] = int((fb + uint64(k)) % uint64(d.w))
	}
	es := d.sc.es[:m]
	var s float64
	maxES := math.Inf(-1)
	for k, pos := range slots {
		lo, st := float64(d.esLo[pos]), float64(d.esD[pos])
		q := d.esQ[pos*d.n : (pos+1)*d.n]
		out := es[k*d.n : (k+1)*d.n]
		for j, c := range q {
			v := lo + float64(c)*st
			out[j] = v
			s += v
			if v > maxES { // not the builtin max: its NaN handling costs a third of the pass
				maxES = v
			}
		}
	}
	mu := s / float64(m)
	var s1, s2 float64
	for _, v := range es {
		dv := v - mu
		s1 += dv
		s2 += dv * dv
	}
	sd := math.Sqrt(s2 / float64(m))
	t := threshold{mu: mu, sigma: sd}

	switch d.cfg.Rule {
	case RulePercentile, RuleMeanSigma, RuleIQR:
		var v float64
		switch d.cfg.Rule {
		case RulePercentile:
			copy(d.sc.tmp, es)
			v = quantileSelect(d.sc.tmp[:m], d.cfg.Percentile)
		case RuleMeanSigma:
			v = mu + d.cfg.Sigma*sd
		case RuleIQR:
			copy(d.sc.tmp, es)
			q1 := quantileSelect(d.sc.tmp[:m], 25)
			q3 := quantileSelect(d.sc.tmp[:m], 75)
			v = q3 + d.cfg.IQRK*(q3-q1)
		}
		t.epsUp, t.up, t.zUp = v, math.Nextafter(v, math.Inf(1)), equivZ(v, mu, sd)
		t.down, t.epsDown = math.Inf(1), math.Inf(1)
		d.th = t
		return
	}

	// Telemanom. Scale check (compare_to_epsilon): the window's errors must
	// not be negligible against the values.
	ysd := d.valuesStd(slots)
	ipr := d.valuesPercentile(slots, 95) - d.valuesPercentile(slots, 5)
	ms := d.cfg.MinSpread
	t.gate = (sd > ms*ysd || maxES > ms*ipr) && maxES > d.cfg.MinError
	t.floor = math.Nextafter(ms*ipr, math.Inf(1))

	t.zUp = d.searchOrClear(es, mu, sd, s1, s2, false)
	t.epsUp = mu + t.zUp*sd
	t.zDown, t.epsDown = sdLim, mu+sdLim*sd
	if d.cfg.Inverse {
		t.zDown = d.searchOrClear(es, mu, sd, -s1, s2, true)
		t.epsDown = mu + t.zDown*sd
	}
	if t.gate {
		d.hindsight(es, slots, mu, t.epsUp, t.floor, false)
		if d.cfg.Inverse {
			d.hindsight(es, slots, mu, t.epsDown, t.floor, true)
		}
	}

	// non_anom_max: the largest (inverted) smoothed error that was not
	// flagged; pruning keeps a new sequence only if its peak x satisfies
	// (x − non_anom_max)/x ≥ p, i.e. x ≥ non_anom_max/(1−p).
	namUp, minES := math.Inf(-1), math.Inf(1)
	for k, pos := range slots {
		out := es[k*d.n : (k+1)*d.n]
		for j, v := range out {
			if !getBit(d.excl, pos*d.n+j) {
				if v > namUp {
					namUp = v
				}
				if v < minES {
					minES = v
				}
			}
		}
	}
	namDown := mu + (mu - minES)
	t.up, t.down = math.Inf(1), math.Inf(1)
	t.inverseArmed = d.cfg.Inverse
	if t.gate {
		t.up = max(t.epsUp, t.floor, cutoff(namUp, d.cfg.P))
		if d.cfg.Inverse {
			t.down = max(t.epsDown, t.floor, cutoff(namDown, d.cfg.P))
		}
	}
	d.th = t
}

// hindsight applies compare_to_epsilon and prune_anoms to the newest batch
// of the window, with the threshold just computed over a window that
// includes it, as the reference judges each batch. It changes no decision
// (those were made on arrival); it marks the readings the reference would
// have flagged as excluded from the largest normal error, as the
// reference's errors_all.i_anom excludes them from later windows. Without
// it an anomaly that arrived while the threshold in force was still high
// would, unflagged, raise the pruning cutoff above its own continuation.
func (d *Detector) hindsight(es []float64, slots []int, mu, eps, floor float64, inverse bool) {
	m, n, b := len(es), d.n, d.cfg.ErrorBuffer
	from := m - n
	x := func(i int) float64 {
		if inverse {
			return mu + (mu - es[i])
		}
		return es[i]
	}
	grown := d.sc.grown
	clear(grown)
	any := false
	for i := max(from-b, 0); i < m; i++ {
		if v := x(i); v >= eps && v >= floor {
			for j := max(i-b, from); j <= min(i+b, m-1); j++ {
				grown[j-from] = true
			}
			any = true
		}
	}
	if !any {
		return
	}
	excluded := func(i int) bool { return getBit(d.excl, slots[i/n]*n+i%n) }
	nam := math.Inf(-1)
	for i := 0; i < m; i++ {
		if (i < from || !grown[i-from]) && !excluded(i) {
			if v := x(i); v > nam {
				nam = v
			}
		}
	}
	runs, runMax := d.sc.runs[:0], d.sc.runMax[:0]
	for j := 0; j < n; j++ {
		if !grown[j] {
			continue
		}
		if len(runs) > 0 && runs[len(runs)-1].End == j-1 {
			runs[len(runs)-1].End = j
			runMax[len(runMax)-1] = max(runMax[len(runMax)-1], x(from+j))
			continue
		}
		runs, runMax = append(runs, Span{j, j}), append(runMax, x(from+j))
	}
	// E_seq leaves out single readings; with no sequence prune_anoms keeps
	// everything.
	remove := d.sc.remove[:0]
	sorted := d.sc.sorted[:0]
	for k, r := range runs {
		if r.End > r.Start {
			sorted = append(sorted, runMax[k])
		}
	}
	if len(sorted) > 0 {
		slices.Sort(sorted)
		slices.Reverse(sorted)
		sorted = append(sorted, nam)
		for i := 0; i+1 < len(sorted); i++ {
			if (sorted[i]-sorted[i+1])/sorted[i] < d.cfg.P {
				remove = append(remove, sorted[i])
			} else {
				remove = remove[:0]
			}
		}
	}
	last := slots[len(slots)-1] * n
	for k, r := range runs {
		if r.End > r.Start && slices.Contains(remove, runMax[k]) {
			continue
		}
		for j := r.Start; j <= r.End; j++ {
			setBit(d.excl, last+j, true)
		}
	}
}

// valuesStd combines the per-batch means and sums of squared deviations of
// the values (Chan, Golub & LeVeque 1979) into the window's population
// standard deviation.
func (d *Detector) valuesStd(slots []int) float64 {
	var n, mean, m2 float64
	nb := float64(d.n)
	for _, pos := range slots {
		bm, bm2 := d.yMean[pos], d.yM2[pos]
		delta := bm - mean
		tot := n + nb
		mean += delta * nb / tot
		m2 += bm2 + delta*delta*n*nb/tot
		n = tot
	}
	return math.Sqrt(m2 / n)
}

// valuesPercentile is numpy's linear percentile of the window's values. Each
// batch's value codes are sorted, so the order statistics are found by
// merging the batches from the nearer end with a heap of cursors: O(w +
// k log w) for rank k from that end.
func (d *Detector) valuesPercentile(slots []int, q float64) float64 {
	m := len(slots) * d.n
	r := q / 100 * float64(m-1)
	i := int(r)
	if i >= m-1 {
		v, _ := d.orderStat(slots, 0, false, true)
		return v
	}
	var a, b float64 // s[i], s[i+1]
	if i < m/2 {
		a, b = d.orderStat(slots, i, true, false)
	} else {
		// s[i+1] is the (m−2−i)-th largest, s[i] the next one down.
		b, a = d.orderStat(slots, m-2-i, true, true)
	}
	return a + (r-float64(i))*(b-a)
}

// orderStat returns the k-th smallest value of the window (the k-th largest
// if desc), and, if next, the (k+1)-th. The heap holds one cursor per
// batch, keyed by the value (negated when desc, so that it is always a
// min-heap).
func (d *Detector) orderStat(slots []int, k int, next, desc bool) (float64, float64) {
	h := d.sc.heap[:0]
	sign, step, start := 1.0, int32(1), 0
	if desc {
		sign, step, start = -1, -1, d.n-1
	}
	for _, pos := range slots {
		h = append(h, cursor{pos: int32(pos), at: int32(start), v: sign * d.yAt(pos, start)})
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		siftDown(h, i)
	}
	var first float64
	for popped := 0; ; popped++ {
		top := &h[0]
		switch popped {
		case k:
			first = sign * top.v
			if !next {
				return first, 0
			}
		case k + 1:
			return first, sign * top.v
		}
		top.at += step
		if top.at < 0 || int(top.at) >= d.n {
			h[0] = h[len(h)-1]
			h = h[:len(h)-1]
			if len(h) == 0 {
				return first, first
			}
		} else {
			top.v = sign * d.yAt(int(top.pos), int(top.at))
		}
		siftDown(h, 0)
	}
}

func (d *Detector) yAt(pos, j int) float64 {
	return dequantise(d.yLo[pos], d.yD[pos], d.yQ[pos*d.n+j])
}

type cursor struct {
	pos, at int32
	v       float64
}

func siftDown(h []cursor, i int) {
	for {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if c+1 < len(h) && h[c+1].v < h[c].v {
			c++
		}
		if h[c].v >= h[i].v {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

const sdLim = 12.0

func cutoff(nam, p float64) float64 {
	if nam > 0 {
		return nam / (1 - p)
	}
	return 0
}

// search is find_epsilon over the window in O(h + k log k + 19·(h/64 + k)),
// k the number of readings at least 2.5σ beyond μ (at most h/7.25 by
// Cantelli's inequality): candidates are sorted once, and as z decreases
// the readings crossing ε are added to a position bitmap; the buffered
// sequences are counted by one pass over the bitmap, and the mean and
// standard deviation without the exceedances come from running sums.
// s1, s2 are Σ(x−μ) and Σ(x−μ)² over the window for the direction's x.
//
// It returns find_epsilon's z, whether some z qualified, and zClear, the
// smallest z on the grid whose ε is above every reading of the window (12
// if there is none).
func (d *Detector) search(es []float64, mu, sd, s1, s2 float64, inverse bool) (z float64, qualified bool, zClear float64) {
	m := len(es)
	lowest := mu + sd*2.5
	c := d.sc.cand[:0]
	for i, v := range es {
		x := v
		if inverse {
			x = mu + (mu - v)
		}
		if x >= lowest {
			c = append(c, cand{x, int32(i)})
		}
	}
	sortCands(c)
	words := d.sc.zbits[:(m+63)/64]
	clear(words)
	b := d.cfg.ErrorBuffer - 1
	z, zClear = sdLim, sdLim
	best, found := 0.0, false
	k := 0
	var a1, a2 float64
	for zi := 18; zi >= 0; zi-- {
		zc := 2.5 + 0.5*float64(zi)
		if zc >= sdLim {
			continue
		}
		eps := mu + sd*zc
		for k < len(c) && c[k].x >= eps {
			words[c[k].pos>>6] |= 1 << (uint(c[k].pos) & 63)
			dx := c[k].x - mu
			a1 += dx
			a2 += dx * dx
			k++
		}
		if k == 0 {
			zClear = zc
			continue
		}
		union, nseq := unionSeqs(words, b, m)
		if 2*union >= m {
			break // the union only grows as z decreases
		}
		if nseq > 5 {
			continue
		}
		np := float64(m - k)
		pd := (s1 - a1) / np
		pv := max((s2-a2)/np-pd*pd, 0)
		score := (-pd/mu + (sd-math.Sqrt(pv))/sd) / float64(nseq*nseq+union)
		if score >= -1e7 && (!found || score > best) {
			best, z, found = score, zc, true
		}
	}
	return z, found, zClear
}

// searchOrClear is the streaming adaptation of find_epsilon's fallback.
// The batch being judged is not yet in the window. When no z qualifies on
// the window, the reference, whose window would hold the new batch, still
// flags an excursion that rises above every smoothed error of the window:
// at the grid z just above the window's maximum it is the only sequence,
// so some z qualifies with ε at most its peak. So instead of sd_lim the
// threshold in force is that grid z; pruning then asks the excursion to
// stand p above the window's largest normal error, as the reference does.
func (d *Detector) searchOrClear(es []float64, mu, sd, s1, s2 float64, inverse bool) float64 {
	z, ok, zClear := d.search(es, mu, sd, s1, s2, inverse)
	if !ok {
		return zClear
	}
	return z
}

// unionSeqs returns the size of the union of [i−b, i+b] ∩ [0, m) over the
// set bits i, and the number of its runs longer than one reading.
func unionSeqs(words []uint64, b, m int) (union, nseq int) {
	cs, ce := 0, -2
	open := false
	for w, word := range words {
		for word != 0 {
			i := w<<6 | trailingZeros(word)
			word &= word - 1
			s, e := max(i-b, 0), min(i+b, m-1)
			if !open || s > ce+1 {
				if open {
					union += ce - cs + 1
					if ce > cs {
						nseq++
					}
				}
				cs, ce, open = s, e, true
			} else if e > ce {
				ce = e
			}
		}
	}
	if open {
		union += ce - cs + 1
		if ce > cs {
			nseq++
		}
	}
	return union, nseq
}

// episode advances the episode state with the decision on reading seq.
func (d *Detector) episode(dec *Decision, seq uint64, flagged bool) {
	ep := &d.ep
	cfg := d.cfg.Episode
	now := d.clock
	switch {
	case ep.open && flagged:
		ep.last, ep.lastT = seq, now
		ep.flagged++
		if dec.Score > ep.peak {
			ep.peak, ep.peakES, ep.peakSeq = dec.Score, dec.ES, seq
			dec.Event = EventUpdated
		}
	case ep.open:
		quiet := (cfg.Quiet == 0 || seq-ep.last >= uint64(cfg.Quiet)) &&
			(cfg.QuietFor == 0 || now-ep.lastT >= int64(cfg.QuietFor))
		held := (cfg.MinReadings == 0 || seq-ep.id+1 >= uint64(cfg.MinReadings)) &&
			(cfg.MinFor == 0 || now-ep.startT >= int64(cfg.MinFor))
		if quiet && held {
			dec.Event = EventClosed
			dec.InEpisode = true
			dec.Episode = ep.snapshot()
			ep.open, ep.closed = false, true
			ep.closedSeq, ep.closedT = seq, now
			return
		}
	case flagged:
		if ep.closed && ((cfg.Cooldown > 0 && seq-ep.closedSeq <= uint64(cfg.Cooldown)) ||
			(cfg.CooldownFor > 0 && now-ep.closedT < int64(cfg.CooldownFor))) {
			dec.CoolDown = true
			return
		}
		*ep = episodeState{open: true, closed: ep.closed, id: seq, last: seq, startT: now, lastT: now,
			flagged: 1, peak: dec.Score, peakES: dec.ES, peakSeq: seq, closedSeq: ep.closedSeq, closedT: ep.closedT}
		dec.Event = EventOpened
	}
	if ep.open {
		dec.InEpisode = true
		dec.Episode = ep.snapshot()
	}
}

func (ep *episodeState) snapshot() Episode {
	return Episode{
		ID: ep.id, Last: ep.last,
		StartTime: time.Unix(0, ep.startT).UTC(), LastTime: time.Unix(0, ep.lastT).UTC(),
		Flagged: ep.flagged, Peak: ep.peak, PeakES: ep.peakES, PeakSeq: ep.peakSeq,
	}
}

package detect

import (
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/vigil-stream/vigil/internal/dynthreshold"
	"github.com/vigil-stream/vigil/internal/model"
	"github.com/vigil-stream/vigil/internal/record"
)

// Models resolves the model a series is scored with. Implementations must
// be cheap: Model is called for every reading.
type Models interface {
	// Model returns the model for the series, or nil if none applies.
	Model(series string, tags map[string]string) *model.Model
}

// Input is one reading to process.
type Input struct {
	Reading record.Reading
	// Offset orders the inputs of a series: the Kafka offset in the
	// consumer, the row number in a backtest. An input at or below the
	// offset the series' state already reflects is skipped as Replayed.
	Offset int64
}

// Status says what became of an input.
type Status uint8

// Statuses.
const (
	// Scored: the reading was judged; Decision holds the verdict (a
	// reading without a prediction yet, the first of a series, is in
	// warm-up with score 0).
	Scored Status = iota
	// Duplicate: same event time as the series' previous reading; ignored.
	Duplicate
	// Replayed: the series' state already reflects it; ignored.
	Replayed
	// Unscored: the producer marked the reading BAD; ignored.
	Unscored
	// Rejected: it could not be processed; Reason and Err say why. The
	// consumer dead-letters it.
	Rejected
)

var statusNames = [...]string{"scored", "duplicate", "replayed", "unscored", "rejected"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// Reject reasons (stable labels for metrics and dead-letter headers).
const (
	ReasonOutOfOrder  = "out_of_order"
	ReasonNoModel     = "no_model"
	ReasonCardinality = "series_limit"
	ReasonInvalid     = "invalid_value"
)

// Outcome is what became of one input.
type Outcome struct {
	Status Status
	Reason string // Rejected: a stable label
	Err    error  // Rejected: the details
	Model  *model.Model
	// Predicted is the model's forecast of this reading, made after the
	// previous one, in the series' units; HasPrediction is false for a
	// series' first reading and after a reset.
	Predicted     float64
	HasPrediction bool
	// Decision is the threshold's verdict. Its errors, threshold, μ and σ
	// are in units of the series' spread (the model scaler's robust
	// standard deviation, IQR/1.349): |y − ŷ| / spread, so that one
	// threshold configuration suits series of any magnitude.
	Decision dynthreshold.Decision
	// PeakTime and PeakValue are the event time and value of the
	// highest-scoring reading of the episode the decision concerns.
	PeakTime  time.Time
	PeakValue float64
	// Recomputed is true when this reading completed a batch and the
	// threshold was recomputed over the window.
	Recomputed bool
	// Note explains anything unusual done before this reading was judged
	// (a model swap, a gap), for the event's explanation; empty otherwise.
	Note string
}

// Limiter caps the number of live series across the Engines of one
// process. Safe for concurrent use.
type Limiter struct {
	max int64
	n   atomic.Int64
}

// NewLimiter returns a limiter of max series; 0 means no limit.
func NewLimiter(max int) *Limiter { return &Limiter{max: int64(max)} }

func (l *Limiter) tryAdd() bool {
	if l == nil {
		return true
	}
	if l.n.Add(1) > l.max && l.max > 0 {
		l.n.Add(-1)
		return false
	}
	return true
}

func (l *Limiter) add(n int) {
	if l != nil {
		l.n.Add(int64(n))
	}
}

// Live returns the number of live series.
func (l *Limiter) Live() int64 {
	if l == nil {
		return 0
	}
	return l.n.Load()
}

// Engine runs the detection path over the series of one partition (or one
// backtest). Not safe for concurrent use; it never blocks.
type Engine struct {
	cfg    Config
	models Models
	limit  *Limiter
	series map[string]*series
	// Series changed since their last checkpoint, in the order they
	// changed (so by dirtyFrom): Checkpoint takes them from the front.
	dirtyQ    []*series
	dirtyHead int
	// next is the offset after the last input processed; -1 before any.
	next int64

	// per-Process scratch
	order  []*series
	groups []*group
	byNet  map[*model.Network]*group
	// scratch for encoding threshold states and series states
	scratch []byte
	state   []byte
}

type group struct {
	net     *model.Network
	batch   model.Batch
	states  []*model.State
	members []*series
	xs, ys  []float32
}

// NewEngine returns an engine. limit may be nil (no cap).
func NewEngine(cfg Config, models Models, limit *Limiter) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Engine{
		cfg: cfg, models: models, limit: limit,
		series: map[string]*series{}, next: -1,
		byNet: map[*model.Network]*group{},
	}, nil
}

// Len returns the number of live series.
func (e *Engine) Len() int { return len(e.series) }

// Close releases the engine's series from the limiter.
func (e *Engine) Close() {
	e.limit.add(-len(e.series))
	clear(e.series)
}

// Process handles inputs in order and returns one Outcome per input, in
// out (reused when large enough). The inputs of one series must come in
// offset order.
func (e *Engine) Process(in []Input, out []Outcome) []Outcome {
	if cap(out) < len(in) {
		out = make([]Outcome, len(in))
	}
	out = out[:len(in)]
	clear(out)
	e.order = e.order[:0]
	for i := range in {
		s, o := e.lookup(in[i].Reading.SeriesID)
		if s == nil {
			out[i] = o
			continue
		}
		if len(s.queue) == 0 {
			e.order = append(e.order, s)
		}
		s.queue = append(s.queue, i)
	}
	for round := 0; ; round++ {
		active := false
		for _, s := range e.order {
			if round >= len(s.queue) {
				continue
			}
			active = true
			i := s.queue[round]
			if e.judge(s, &in[i], &out[i]) {
				g := e.group(s.m.Network)
				g.states = append(g.states, s.state)
				g.members = append(g.members, s)
				g.xs = append(g.xs, s.x...)
			}
		}
		if !active {
			break
		}
		for _, g := range e.groups {
			k := g.net.Outputs()
			n := len(g.members)
			if cap(g.ys) < n*k {
				g.ys = make([]float32, n*k)
			}
			g.ys = g.ys[:n*k]
			g.batch.Step(g.net, g.states, g.xs, g.ys)
			for j, s := range g.members {
				copy(s.y, g.ys[j*k:(j+1)*k])
				s.hasPred = true
			}
			g.states, g.members, g.xs = g.states[:0], g.members[:0], g.xs[:0]
		}
		e.groups = e.groups[:0]
		clear(e.byNet)
	}
	for _, s := range e.order {
		s.queue = s.queue[:0]
	}
	if len(in) > 0 {
		e.next = max(e.next, in[len(in)-1].Offset+1)
	}
	return out
}

func (e *Engine) group(net *model.Network) *group {
	if g := e.byNet[net]; g != nil {
		return g
	}
	// Reuse a previous group object for the same network if we have one.
	g := &group{net: net}
	e.byNet[net] = g
	e.groups = append(e.groups, g)
	return g
}

// lookup returns the series, creating it if the limiter allows.
func (e *Engine) lookup(id string) (*series, Outcome) {
	if s := e.series[id]; s != nil {
		return s, Outcome{}
	}
	if id == "" {
		return nil, Outcome{Status: Rejected, Reason: ReasonInvalid, Err: errors.New("empty series id")}
	}
	if !e.limit.tryAdd() {
		return nil, Outcome{Status: Rejected, Reason: ReasonCardinality,
			Err: fmt.Errorf("series %q would exceed the limit of %d live series", id, e.limit.max)}
	}
	s := &series{id: id, lastOffset: math.MinInt64, dirtyFrom: -1}
	e.series[id] = s
	return s, Outcome{}
}

// judge decides on one input of s. It reports whether the LSTM must be
// stepped with s.x.
func (e *Engine) judge(s *series, in *Input, o *Outcome) bool {
	r := &in.Reading
	if in.Offset <= s.lastOffset {
		o.Status = Replayed
		return false
	}
	s.lastOffset = in.Offset
	if s.dirtyFrom < 0 {
		s.dirtyFrom = in.Offset
		e.dirtyQ = append(e.dirtyQ, s)
	}
	if r.Quality == record.QualityBad {
		o.Status = Unscored
		return false
	}
	if s.hasLast {
		switch {
		case r.Time.Equal(s.lastTime):
			o.Status = Duplicate
			return false
		case r.Time.Before(s.lastTime) && e.cfg.OutOfOrder == OutOfOrderReject:
			o.Status, o.Reason = Rejected, ReasonOutOfOrder
			o.Err = fmt.Errorf("reading at %s is older than the series' last at %s",
				r.Time.UTC().Format(time.RFC3339Nano), s.lastTime.UTC().Format(time.RFC3339Nano))
			return false
		}
	}
	m := e.models.Model(s.id, r.Tags)
	if m == nil {
		o.Status, o.Reason = Rejected, ReasonNoModel
		o.Err = fmt.Errorf("no model serves series %q", s.id)
		return false
	}
	if s.m != m {
		o.Note = e.install(s, m)
	}
	o.Model = m
	if s.hasLast && e.cfg.GapFactor > 0 && s.interval > 0 {
		if dt := r.Time.Sub(s.lastTime).Seconds(); dt > e.cfg.GapFactor*s.interval {
			o.Note = join(o.Note, e.gap(s, dt))
		}
	}
	o.Status = Scored
	if s.hasPred {
		o.Predicted = s.sc.Unscale(0, float64(s.y[0]))
		o.HasPrediction = true
		// The detector works in the series' scaled units, as Telemanom does
		// (its defaults, such as min_error 0.05, assume them), which also
		// makes thresholds comparable across series.
		sp := s.sc.Spread[0]
		dec, err := s.det.Observe(dynthreshold.Reading{Time: r.Time, Value: s.sc.Scale(0, r.Value), Error: math.Abs(r.Value-o.Predicted) / sp})
		if err != nil {
			o.Status, o.Reason, o.Err = Rejected, ReasonInvalid, err
			return false
		}
		o.Decision = dec
		if c := s.det.Config(); c.Rule != dynthreshold.RuleFixed {
			n := s.det.Seen()
			o.Recomputed = n%uint64(c.Batch) == 0 && n >= uint64(c.WarmUp)
		}
		if dec.Event == dynthreshold.EventOpened || dec.Event == dynthreshold.EventUpdated {
			s.peakTime, s.peakValue = r.Time, r.Value
		}
		o.PeakTime, o.PeakValue = s.peakTime, s.peakValue
	} else {
		o.Decision = dynthreshold.Decision{Time: r.Time, WarmUp: true}
	}
	m.Features.Encode(s.x, s.sc, r.Time, r.Value, r.Fields)
	for _, v := range s.x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			o.Status, o.Reason = Rejected, ReasonInvalid
			o.Err = fmt.Errorf("value %v does not scale to a finite input", r.Value)
			return false
		}
	}
	s.remember(r, e.cfg.Retain)
	if s.hasLast {
		if dt := r.Time.Sub(s.lastTime).Seconds(); dt > 0 {
			switch {
			case s.interval == 0:
				s.interval = dt
			case e.cfg.GapFactor == 0 || dt <= e.cfg.GapFactor*s.interval:
				s.interval += 0.05 * (dt - s.interval)
			}
		}
	}
	if !s.hasLast || r.Time.After(s.lastTime) {
		s.lastTime = r.Time
	}
	s.hasLast = true
	return true
}

// install puts model m in service for s: on a new series, from its
// restored state when that was made with m; otherwise afresh, re-primed
// from the retained readings. It returns a note for the explanation.
func (e *Engine) install(s *series, m *model.Model) string {
	thCfg, thErr := ThresholdConfig(e.cfg.Threshold, m.Threshold)
	prior := PriorFor(m, s.id)
	prev := s.m
	s.m = m
	s.sc = m.ScalerFor(s.id)
	s.state = m.Network.NewState()
	s.y = make([]float32, m.Network.Outputs())
	s.x = make([]float32, m.Features.Width())
	s.hasPred = false
	var note string
	if thErr != nil {
		note = fmt.Sprintf("model %s asks for a threshold rule that cannot be applied (%v): default rule used", m, thErr)
	}
	det, err := dynthreshold.New(thCfg, prior)
	if err != nil {
		det, _ = dynthreshold.New(e.cfg.Threshold, dynthreshold.Prior{})
		note = join(note, fmt.Sprintf("model %s's threshold prior is unusable (%v)", m, err))
	}
	s.det = det
	if sv := s.saved; sv != nil {
		s.saved = nil
		if sv.model == m.Name && sv.version == m.Version && sv.fits(m.Network) {
			for l := range s.state.H {
				copy(s.state.H[l], sv.h[l])
				copy(s.state.C[l], sv.c[l])
			}
			copy(s.y, sv.y)
			s.hasPred = sv.hasPred
			if err := s.det.UnmarshalBinary(sv.det); err != nil {
				return join(note, fmt.Sprintf("restored threshold state unusable (%v): threshold warming up again", err))
			}
			return note
		}
		return join(note, e.reprime(s, fmt.Sprintf("model %s replaced %s@v%d while the series was not served", m, sv.model, sv.version)))
	}
	if prev == nil {
		return note
	}
	return join(note, e.reprime(s, fmt.Sprintf("model %s swapped in for %s", m, prev)))
}

// reprime runs the retained readings through the LSTM from a zero state.
func (e *Engine) reprime(s *series, why string) string {
	s.state.Reset()
	s.hasPred = false
	n := 0
	s.eachRetained(func(t time.Time, v float64, f map[string]float64) {
		s.m.Features.Encode(s.x, s.sc, t, v, f)
		s.m.Network.Step(s.state, s.x, s.y)
		n++
	})
	s.hasPred = n > 0
	return fmt.Sprintf("%s: LSTM re-primed from %d retained readings; threshold warming up from the model's validation errors", why, n)
}

// gap applies the gap policy after a gap of dt seconds.
func (e *Engine) gap(s *series, dt float64) string {
	what := fmt.Sprintf("gap of %s (usual interval %s)", secs(dt), secs(s.interval))
	if e.cfg.GapPolicy == GapReset {
		s.state.Reset()
		s.hasPred = false
		cfg, _ := ThresholdConfig(e.cfg.Threshold, s.m.Threshold)
		if det, err := dynthreshold.New(cfg, PriorFor(s.m, s.id)); err == nil {
			s.det = det
		}
		return what + ": LSTM and threshold reset, warming up again"
	}
	return e.reprime(s, what)
}

func secs(x float64) string {
	return time.Duration(x * float64(time.Second)).Round(time.Second).String()
}

func join(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

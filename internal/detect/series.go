package detect

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/vigil-stream/vigil/internal/dynthreshold"
	"github.com/vigil-stream/vigil/internal/model"
	"github.com/vigil-stream/vigil/internal/record"
)

// series is the detection state of one series.
type series struct {
	id string

	m     *model.Model // nil until the first reading after creation or restore
	sc    *model.Scaler
	state *model.State
	y     []float32 // the last step's outputs, scaled: y[0] predicts the next reading
	x     []float32 // input scratch
	det   *dynthreshold.Detector

	hasPred    bool
	hasLast    bool
	lastTime   time.Time
	lastOffset int64
	dirtyFrom  int64   // offset of the first input since the last checkpoint; -1 when clean
	interval   float64 // usual interval between readings, seconds (EWMA)

	// The peak reading of the current or last episode, for its events.
	peakTime  time.Time
	peakValue float64

	ring  []retained // the last Retain readings, oldest at ring[head]
	head  int
	queue []int // Process scratch: indexes of this series' inputs

	saved *savedState // restored state awaiting its model
}

// retained is one reading kept for re-priming. The time is held as Unix
// nanoseconds, not a time.Time, whose location pointer would make the
// garbage collector scan every retained reading of every series.
type retained struct {
	t      int64
	v      float64
	fields map[string]float64
}

// savedState is a restored series state not yet bound to a model.
type savedState struct {
	model   string
	version int64
	h, c    [][]float32
	y       []float32
	hasPred bool
	det     []byte
}

func (sv *savedState) fits(n *model.Network) bool {
	if len(sv.h) != len(n.Layers) || len(sv.y) != n.Outputs() {
		return false
	}
	for l, ly := range n.Layers {
		if len(sv.h[l]) != ly.Hidden || len(sv.c[l]) != ly.Hidden {
			return false
		}
	}
	return true
}

// remember appends r to the ring of retained readings.
func (s *series) remember(r *record.Reading, capacity int) {
	e := retained{t: r.Time.UnixNano(), v: r.Value}
	if len(r.Fields) > 0 {
		e.fields = make(map[string]float64, len(r.Fields))
		for k, v := range r.Fields {
			e.fields[k] = v
		}
	}
	if len(s.ring) < capacity {
		s.ring = append(s.ring, e)
		return
	}
	s.ring[s.head] = e
	s.head = (s.head + 1) % len(s.ring)
}

func (s *series) eachRetained(fn func(time.Time, float64, map[string]float64)) {
	for i := range s.ring {
		e := &s.ring[(s.head+i)%len(s.ring)]
		fn(time.Unix(0, e.t).UTC(), e.v, e.fields)
	}
}

// State encoding, version 1, all integers little-endian or varints:
//
//	"VS" 1                      magic and version
//	string model name, varint model version (0: none)
//	varint last offset, flags (1 has last, 2 has prediction), varint last time (Unix ns)
//	float64 interval, varint peak time (Unix ns), float64 peak value
//	uvarint n, n×float32 y
//	uvarint layers, per layer: uvarint H, H×float32 h, H×float32 c
//	uvarint readings, per reading (oldest first): varint time (Unix ns), float64 value,
//	        uvarint fields, per field: string name, float64 value (names sorted)
//	uvarint n, n bytes of the threshold detector's own encoding
//
// where a string is a uvarint length and its bytes.
const stateVersion = 1

// ErrState is returned (wrapped) for a checkpointed state that cannot be
// decoded.
var ErrState = errors.New("bad series state")

// AppendState appends the encoding of series id's state to b. ok is false
// if the engine has no such series or it has no model yet.
func (e *Engine) AppendState(b []byte, id string) (_ []byte, ok bool, err error) {
	s := e.series[id]
	if s == nil {
		return b, false, nil
	}
	b = append(b, 'V', 'S', stateVersion)
	switch {
	case s.m != nil:
		b = appendString(b, s.m.Name)
		b = binary.AppendVarint(b, s.m.Version)
	case s.saved != nil:
		b = appendString(b, s.saved.model)
		b = binary.AppendVarint(b, s.saved.version)
	default:
		b = appendString(b, "")
		b = binary.AppendVarint(b, 0)
	}
	b = binary.AppendVarint(b, s.lastOffset)
	var flags byte
	if s.hasLast {
		flags |= 1
	}
	hasPred, y, h, c := s.hasPred, s.y, [][]float32(nil), [][]float32(nil)
	if s.state != nil {
		h, c = s.state.H, s.state.C
	}
	if s.m == nil && s.saved != nil {
		hasPred, y, h, c = s.saved.hasPred, s.saved.y, s.saved.h, s.saved.c
	}
	if hasPred {
		flags |= 2
	}
	b = append(b, flags)
	b = binary.AppendVarint(b, s.lastTime.UnixNano())
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.interval))
	b = binary.AppendVarint(b, s.peakTime.UnixNano())
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.peakValue))
	b = appendFloats(b, y)
	b = binary.AppendUvarint(b, uint64(len(h)))
	for l := range h {
		b = appendFloats(b, h[l])
		b = appendFloats(b, c[l])
	}
	b = binary.AppendUvarint(b, uint64(len(s.ring)))
	var names []string
	s.eachRetained(func(t time.Time, v float64, f map[string]float64) {
		b = binary.AppendVarint(b, t.UnixNano())
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		names = names[:0]
		for k := range f {
			names = append(names, k)
		}
		slices.Sort(names)
		b = binary.AppendUvarint(b, uint64(len(names)))
		for _, k := range names {
			b = appendString(b, k)
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f[k]))
		}
	})
	switch {
	case s.det != nil && s.m != nil:
		var err error
		if e.scratch, err = s.det.AppendBinary(e.scratch[:0]); err != nil {
			return b, false, fmt.Errorf("encode threshold state of %q: %w", id, err)
		}
		b = binary.AppendUvarint(b, uint64(len(e.scratch)))
		b = append(b, e.scratch...)
	case s.saved != nil:
		b = binary.AppendUvarint(b, uint64(len(s.saved.det)))
		b = append(b, s.saved.det...)
	default:
		b = binary.AppendUvarint(b, 0)
	}
	return b, true, nil
}

// Restore installs a checkpointed state for series id, replacing any it
// has. The state is bound to the series' model on its next reading: if
// that is the model it was saved with, the series continues exactly where
// it stopped; otherwise it re-primes from the retained readings.
func (e *Engine) Restore(id string, b []byte) error {
	s := &series{id: id, dirtyFrom: -1}
	d := decoder{b: b}
	if len(b) < 3 || b[0] != 'V' || b[1] != 'S' {
		return fmt.Errorf("series %q: %w: no magic", id, ErrState)
	}
	if b[2] != stateVersion {
		return fmt.Errorf("series %q: %w: version %d, want %d", id, ErrState, b[2], stateVersion)
	}
	d.b = b[3:]
	sv := &savedState{}
	sv.model = d.str()
	sv.version = d.varint()
	s.lastOffset = d.varint()
	flags := d.byte()
	s.hasLast = flags&1 != 0
	sv.hasPred = flags&2 != 0
	s.lastTime = time.Unix(0, d.varint()).UTC()
	s.interval = d.float64()
	s.peakTime = time.Unix(0, d.varint()).UTC()
	s.peakValue = d.float64()
	sv.y = d.floats()
	layers := d.count(64)
	sv.h, sv.c = make([][]float32, layers), make([][]float32, layers)
	for l := range layers {
		sv.h[l] = d.floats()
		sv.c[l] = d.floats()
	}
	n := d.count(1 << 20)
	s.ring = make([]retained, 0, n)
	for range n {
		r := retained{t: d.varint(), v: d.float64()}
		if k := d.count(1 << 16); k > 0 {
			r.fields = make(map[string]float64, k)
			for range k {
				name := d.str()
				r.fields[name] = d.float64()
			}
		}
		s.ring = append(s.ring, r)
	}
	sv.det = d.bytes()
	if d.err != nil {
		return fmt.Errorf("series %q: %w: %w", id, ErrState, d.err)
	}
	if len(d.b) != 0 {
		return fmt.Errorf("series %q: %w: %d trailing bytes", id, ErrState, len(d.b))
	}
	if len(s.ring) > e.cfg.Retain {
		s.ring = s.ring[len(s.ring)-e.cfg.Retain:]
	}
	if sv.model != "" {
		s.saved = sv
	}
	if old := e.series[id]; old == nil {
		e.limit.add(1)
	}
	e.series[id] = s
	return nil
}

// Pending returns the number of series changed since their last
// checkpoint.
func (e *Engine) Pending() int { return len(e.dirtyQ) - e.dirtyHead }

// Checkpoint encodes the state of at most limit changed series (limit ≤ 0:
// all), those changed earliest first, and hands each to emit (the slice
// is reused after emit returns). It returns the offset to commit once the
// emitted states are durable: every input below it is reflected in a
// checkpointed state or changed none; -1 before any input. Spreading a
// checkpoint over several calls keeps each one short, and the commit
// advances as the oldest changes are written.
func (e *Engine) Checkpoint(limit int, emit func(id string, state []byte)) (int64, error) {
	if limit <= 0 {
		limit = e.Pending()
	}
	var err error
	for ; limit > 0 && e.dirtyHead < len(e.dirtyQ); limit-- {
		s := e.dirtyQ[e.dirtyHead]
		e.dirtyQ[e.dirtyHead] = nil
		e.dirtyHead++
		if e.series[s.id] != s {
			continue // replaced by a restore
		}
		var ok bool
		var encErr error
		e.state, ok, encErr = e.AppendState(e.state[:0], s.id)
		if encErr != nil {
			err = errors.Join(err, encErr)
		} else if ok {
			emit(s.id, e.state)
		}
		s.dirtyFrom = -1
	}
	if e.dirtyHead == len(e.dirtyQ) {
		e.dirtyQ, e.dirtyHead = e.dirtyQ[:0], 0
	} else if e.dirtyHead > len(e.dirtyQ)/2 && e.dirtyHead > 1024 {
		n := copy(e.dirtyQ, e.dirtyQ[e.dirtyHead:])
		clear(e.dirtyQ[n:])
		e.dirtyQ, e.dirtyHead = e.dirtyQ[:n], 0
	}
	if e.dirtyHead < len(e.dirtyQ) {
		return e.dirtyQ[e.dirtyHead].dirtyFrom, err
	}
	return e.next, err
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendFloats(b []byte, xs []float32) []byte {
	b = binary.AppendUvarint(b, uint64(len(xs)))
	for _, x := range xs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// decoder reads the state encoding; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
	d.b = nil
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) count(max int) int {
	v := d.uvarint()
	if v > uint64(max) || v > uint64(len(d.b)) {
		d.fail("count %d out of range", v)
		return 0
	}
	return int(v)
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail("truncated")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) float64() float64 {
	if len(d.b) < 8 {
		d.fail("truncated")
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}

func (d *decoder) floats() []float32 {
	n := d.count(1 << 20)
	if len(d.b) < 4*n {
		d.fail("truncated")
		return nil
	}
	xs := make([]float32, n)
	for i := range xs {
		xs[i] = math.Float32frombits(binary.LittleEndian.Uint32(d.b[4*i:]))
	}
	d.b = d.b[4*n:]
	return xs
}

func (d *decoder) bytes() []byte {
	n := d.count(1 << 26)
	v := d.b[:n:n]
	d.b = d.b[n:]
	return slices.Clone(v)
}

func (d *decoder) str() string {
	n := d.count(1 << 16)
	if d.err != nil {
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

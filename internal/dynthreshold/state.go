package dynthreshold

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
)

// State encoding, version 1, little-endian:
//
//	"VDTS" | version u8 | rule u8 | batch u16 | windows u16 | flags u8
//	seen u64 | num f64 | den f64 | clock i64
//	threshold: μ σ z_up z_down ε_up ε_inv floor θ_up θ_down (f64 each)
//	episode: id last u64 | start last i64 | flagged u64 | peak peakES f64 |
//	         peakSeq closedSeq u64 | closed i64
//	nb u16, then nb completed batches, oldest first, each:
//	         e_s lo, step, value lo, step (f32) | batch × u16 e_s codes | batch × u16 value codes
//	r = seen mod batch readings of the batch being filled: r × f32 e_s | r × f32 value
//	exclusion bits of the nb·batch + r readings, packed LSB first
//	CRC-32 (IEEE) of everything before
//
// nb = min(seen/batch, windows−1): the oldest batch of a full ring has left
// the window of the next recomputation and is not stored. At the defaults
// (h = 2100, batch 70) the largest encoding is 9,606 bytes.
const (
	stateMagic   = "VDTS"
	stateVersion = 1
	headerSize   = 4 + 1 + 1 + 2 + 2 + 1 + 4*8 + 9*8 + 10*8 + 2
)

const (
	flagWarm = 1 << iota
	flagGate
	flagInverse
	flagOpen
	flagClosed
)

// MarshalBinary encodes the detector's per-series state (see
// AppendBinary).
func (d *Detector) MarshalBinary() ([]byte, error) {
	return d.AppendBinary(make([]byte, 0, d.EncodedSize()))
}

// EncodedSize returns the length of the current state's encoding.
func (d *Detector) EncodedSize() int {
	nb, r := d.stored()
	return headerSize + nb*(16+4*d.n) + 8*r + (nb*d.n+r+7)/8 + 4
}

// stored returns the number of completed batches and pending readings in
// the encoding.
func (d *Detector) stored() (nb, r int) {
	return int(min(d.seen/uint64(d.n), uint64(d.w-1))), len(d.pendES)
}

// AppendBinary appends the versioned binary encoding of the detector's
// per-series state to b: smoothing accumulators, the rolling window, the
// threshold in force and the episode. Restoring it with UnmarshalBinary into
// a Detector of the same Config and Prior gives identical decisions.
func (d *Detector) AppendBinary(b []byte) ([]byte, error) {
	start := len(b)
	le := binary.LittleEndian
	b = append(b, stateMagic...)
	b = append(b, stateVersion, d.cfg.Rule.code())
	b = le.AppendUint16(b, uint16(d.n))
	b = le.AppendUint16(b, uint16(d.w))
	var fl byte
	for _, x := range []struct {
		on  bool
		bit byte
	}{{d.th.warm, flagWarm}, {d.th.gate, flagGate}, {d.th.inverseArmed, flagInverse}, {d.ep.open, flagOpen}, {d.ep.closed, flagClosed}} {
		if x.on {
			fl |= x.bit
		}
	}
	b = append(b, fl)
	f64 := func(v float64) { b = le.AppendUint64(b, math.Float64bits(v)) }
	u64 := func(v uint64) { b = le.AppendUint64(b, v) }
	u64(d.seen)
	f64(d.num)
	f64(d.den)
	u64(uint64(d.clock))
	t := &d.th
	for _, v := range []float64{t.mu, t.sigma, t.zUp, t.zDown, t.epsUp, t.epsDown, t.floor, t.up, t.down} {
		f64(v)
	}
	e := &d.ep
	u64(e.id)
	u64(e.last)
	u64(uint64(e.startT))
	u64(uint64(e.lastT))
	u64(e.flagged)
	f64(e.peak)
	f64(e.peakES)
	u64(e.peakSeq)
	u64(e.closedSeq)
	u64(uint64(e.closedT))

	nb, r := d.stored()
	b = le.AppendUint16(b, uint16(nb))
	completed := d.seen / uint64(d.n)
	f32 := func(v float32) { b = le.AppendUint32(b, math.Float32bits(v)) }
	for k := 0; k < nb; k++ {
		pos := int((completed - uint64(nb) + uint64(k)) % uint64(d.w))
		f32(d.esLo[pos])
		f32(d.esD[pos])
		f32(d.yLo[pos])
		f32(d.yD[pos])
		for _, q := range d.esQ[pos*d.n : (pos+1)*d.n] {
			b = le.AppendUint16(b, q)
		}
		for _, q := range d.yQ[pos*d.n : (pos+1)*d.n] {
			b = le.AppendUint16(b, q)
		}
	}
	for _, v := range d.pendES {
		f32(v)
	}
	for _, v := range d.pendY {
		f32(v)
	}
	var acc byte
	nbits := 0
	bit := func(v bool) {
		if v {
			acc |= 1 << (nbits & 7)
		}
		nbits++
		if nbits&7 == 0 {
			b = append(b, acc)
			acc = 0
		}
	}
	for k := 0; k < nb; k++ {
		pos := int((completed - uint64(nb) + uint64(k)) % uint64(d.w))
		for j := 0; j < d.n; j++ {
			bit(getBit(d.excl, pos*d.n+j))
		}
	}
	cur := int(completed % uint64(d.w))
	for j := 0; j < r; j++ {
		bit(getBit(d.excl, cur*d.n+j))
	}
	if nbits&7 != 0 {
		b = append(b, acc)
	}
	b = le.AppendUint32(b, crc32.ChecksumIEEE(b[start:]))
	return b, nil
}

var errCorrupt = errors.New("corrupt state")

// decoder reads little-endian fields, remembering the first overrun.
type decoder struct {
	b   []byte
	bad bool
}

func (r *decoder) take(n int) []byte {
	if r.bad || len(r.b) < n {
		r.bad = true
		return make([]byte, n)
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}
func (r *decoder) u8() byte     { return r.take(1)[0] }
func (r *decoder) u16() uint16  { return binary.LittleEndian.Uint16(r.take(2)) }
func (r *decoder) u32() uint32  { return binary.LittleEndian.Uint32(r.take(4)) }
func (r *decoder) u64() uint64  { return binary.LittleEndian.Uint64(r.take(8)) }
func (r *decoder) i64() int64   { return int64(r.u64()) }
func (r *decoder) f64() float64 { return math.Float64frombits(r.u64()) }
func (r *decoder) f32() float32 { return math.Float32frombits(r.u32()) }

// UnmarshalBinary restores a state encoded by AppendBinary into d, which
// must have been created by New with the same Config (and Prior) as the
// encoder's. On error d is unchanged; the error wraps ErrIncompatibleState if
// the state is well formed but its rule or window geometry differ from d's.
func (d *Detector) UnmarshalBinary(data []byte) error {
	if len(data) < headerSize+4 {
		return fmt.Errorf("dynthreshold: state of %d bytes: %w", len(data), errCorrupt)
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if string(body[:4]) != stateMagic {
		return fmt.Errorf("dynthreshold: bad state magic: %w", errCorrupt)
	}
	if crc32.ChecksumIEEE(body) != sum {
		return fmt.Errorf("dynthreshold: state checksum mismatch: %w", errCorrupt)
	}
	r := &decoder{b: body[4:]}
	if v := r.u8(); v != stateVersion {
		return fmt.Errorf("dynthreshold: state version %d, want %d: %w", v, stateVersion, ErrIncompatibleState)
	}
	rule, n, w := r.u8(), int(r.u16()), int(r.u16())
	if rule != d.cfg.Rule.code() || n != d.n || w != d.w {
		return fmt.Errorf("dynthreshold: state of rule %d with %d batches of %d, want rule %d (%s) with %d of %d: %w",
			rule, w, n, d.cfg.Rule.code(), d.cfg.Rule, d.w, d.n, ErrIncompatibleState)
	}
	fl := r.u8()
	s := *d // shallow copy; buffers are replaced below before use
	s.seen = r.u64()
	s.num, s.den = r.f64(), r.f64()
	s.clock = r.i64()
	t := threshold{warm: fl&flagWarm != 0, gate: fl&flagGate != 0, inverseArmed: fl&flagInverse != 0}
	t.mu, t.sigma, t.zUp, t.zDown = r.f64(), r.f64(), r.f64(), r.f64()
	t.epsUp, t.epsDown, t.floor, t.up, t.down = r.f64(), r.f64(), r.f64(), r.f64(), r.f64()
	s.th = t
	e := episodeState{open: fl&flagOpen != 0, closed: fl&flagClosed != 0}
	e.id, e.last, e.startT, e.lastT = r.u64(), r.u64(), r.i64(), r.i64()
	e.flagged = r.u64()
	e.peak, e.peakES = r.f64(), r.f64()
	e.peakSeq, e.closedSeq, e.closedT = r.u64(), r.u64(), r.i64()
	s.ep = e
	nb := int(r.u16())
	if r.bad {
		return fmt.Errorf("dynthreshold: truncated state: %w", errCorrupt)
	}
	for _, v := range []float64{s.num, s.den, t.mu, t.sigma, t.zUp, t.zDown, e.peak, e.peakES} {
		if !isFinite(v) {
			return fmt.Errorf("dynthreshold: non-finite field in state: %w", errCorrupt)
		}
	}
	if s.seen > 0 && !(s.den >= 1) || s.num < 0 || fl>>5 != 0 {
		return fmt.Errorf("dynthreshold: inconsistent state: %w", errCorrupt)
	}
	nbWant, rr := int(min(s.seen/uint64(n), uint64(w-1))), int(s.seen%uint64(n))
	if nb != nbWant {
		return fmt.Errorf("dynthreshold: state holds %d batches, want %d: %w", nb, nbWant, errCorrupt)
	}
	esQ, yQ := make([]uint16, len(d.esQ)), make([]uint16, len(d.yQ))
	esLo, esD := make([]float32, w), make([]float32, w)
	yLo, yD := make([]float32, w), make([]float32, w)
	excl := make([]uint64, len(d.excl))
	completed := s.seen / uint64(n)
	for k := 0; k < nb; k++ {
		pos := int((completed - uint64(nb) + uint64(k)) % uint64(w))
		esLo[pos], esD[pos], yLo[pos], yD[pos] = r.f32(), r.f32(), r.f32(), r.f32()
		for _, v := range []float32{esLo[pos], esD[pos], yLo[pos], yD[pos]} {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("dynthreshold: non-finite batch scale in state: %w", errCorrupt)
			}
		}
		for j := 0; j < n; j++ {
			esQ[pos*n+j] = r.u16()
		}
		for j := 0; j < n; j++ {
			yQ[pos*n+j] = r.u16()
		}
	}
	pendES, pendY := make([]float32, rr, n), make([]float32, rr, n)
	for j := range pendES {
		pendES[j] = r.f32()
	}
	for j := range pendY {
		pendY[j] = r.f32()
	}
	bits := r.take((nb*n + rr + 7) / 8)
	idx := 0
	for k := 0; k < nb; k++ {
		pos := int((completed - uint64(nb) + uint64(k)) % uint64(w))
		for j := 0; j < n; j++ {
			setBit(excl, pos*n+j, bits[idx>>3]&(1<<(idx&7)) != 0)
			idx++
		}
	}
	cur := int(completed % uint64(w))
	for j := 0; j < rr; j++ {
		setBit(excl, cur*n+j, bits[idx>>3]&(1<<(idx&7)) != 0)
		idx++
	}
	if idx&7 != 0 && bits[idx>>3]>>(idx&7) != 0 {
		return fmt.Errorf("dynthreshold: padding bits set in state: %w", errCorrupt)
	}
	if r.bad || len(r.b) != 0 {
		return fmt.Errorf("dynthreshold: state length does not match its contents: %w", errCorrupt)
	}
	s.esQ, s.yQ, s.esLo, s.esD, s.yLo, s.yD = esQ, yQ, esLo, esD, yLo, yD
	s.pendES, s.pendY, s.excl = pendES, pendY, excl
	s.yMean, s.yM2 = make([]float64, w), make([]float64, w)
	for k := 0; k < nb; k++ {
		s.batchStats(int((completed - uint64(nb) + uint64(k)) % uint64(w)))
	}
	*d = s
	return nil
}

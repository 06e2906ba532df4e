package avrocodec

import (
	"encoding/binary"
	"math"
	"strconv"
)

// wireError is a failure to read Avro binary at a byte offset of the body.
type wireError struct {
	off int
	msg string
}

func (e *wireError) Error() string { return e.msg + " at body byte " + strconv.Itoa(e.off) }

// maxZeroSizeItems bounds how many items of a zero-byte type (null, an empty
// record) one payload may claim, since their block counts cannot be checked
// against the bytes left.
const maxZeroSizeItems = 1 << 12

// maxValueDepth bounds nesting while walking a value of a recursive schema.
const maxValueDepth = 64

// reader walks Avro binary data. Every method checks bounds and returns a
// *wireError rather than panicking.
type reader struct {
	buf      []byte
	pos      int
	zeroLeft int
}

func newReader(b []byte) reader { return reader{buf: b, zeroLeft: maxZeroSizeItems} }

func (r *reader) fail(msg string) error { return &wireError{off: r.pos, msg: msg} }

func (r *reader) long() (int64, error) {
	var v uint64
	var shift uint
	for i := 0; i < 10; i++ {
		if r.pos >= len(r.buf) {
			return 0, r.fail("truncated varint")
		}
		b := r.buf[r.pos]
		r.pos++
		if i == 9 && b > 1 {
			return 0, r.fail("varint overflows 64 bits")
		}
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return int64(v>>1) ^ -int64(v&1), nil
		}
		shift += 7
	}
	return 0, r.fail("varint overflows 64 bits")
}

func (r *reader) int() (int32, error) {
	start := r.pos
	v, err := r.long()
	if err != nil {
		return 0, err
	}
	if v < math.MinInt32 || v > math.MaxInt32 {
		r.pos = start
		return 0, r.fail("int out of range")
	}
	return int32(v), nil
}

func (r *reader) boolean() (bool, error) {
	if r.pos >= len(r.buf) {
		return false, r.fail("truncated boolean")
	}
	b := r.buf[r.pos]
	if b > 1 {
		return false, r.fail("boolean byte not 0 or 1")
	}
	r.pos++
	return b == 1, nil
}

func (r *reader) double() (float64, error) {
	if len(r.buf)-r.pos < 8 {
		return 0, r.fail("truncated double")
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.buf[r.pos:]))
	r.pos += 8
	return v, nil
}

func (r *reader) float() (float32, error) {
	if len(r.buf)-r.pos < 4 {
		return 0, r.fail("truncated float")
	}
	v := math.Float32frombits(binary.LittleEndian.Uint32(r.buf[r.pos:]))
	r.pos += 4
	return v, nil
}

// bytes returns a view of the next length-prefixed bytes or string; it does
// not copy.
func (r *reader) bytes() ([]byte, error) {
	start := r.pos
	n, err := r.long()
	if err != nil {
		return nil, err
	}
	if n < 0 || n > int64(len(r.buf)-r.pos) {
		r.pos = start
		return nil, r.fail("length " + strconv.FormatInt(n, 10) + " exceeds the payload")
	}
	b := r.buf[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return b, nil
}

func (r *reader) skipN(n int) error {
	if n > len(r.buf)-r.pos {
		return r.fail("truncated fixed")
	}
	r.pos += n
	return nil
}

// blockCount reads the item count of an array or map block (skipping the
// byte size of a negative-count block) and checks it against the bytes left,
// given that each item takes at least minItem bytes.
func (r *reader) blockCount(minItem int) (int, error) {
	start := r.pos
	n, err := r.long()
	if err != nil {
		return 0, err
	}
	if n < 0 {
		if n == math.MinInt64 {
			r.pos = start
			return 0, r.fail("bad block count")
		}
		n = -n
		if _, err := r.long(); err != nil { // block size in bytes
			return 0, err
		}
	}
	if minItem == 0 {
		if n > int64(r.zeroLeft) {
			r.pos = start
			return 0, r.fail("too many zero-size items")
		}
		r.zeroLeft -= int(n)
	} else if n > int64((len(r.buf)-r.pos)/minItem) {
		r.pos = start
		return 0, r.fail("block count " + strconv.FormatInt(n, 10) + " exceeds the payload")
	}
	return int(n), nil
}

// unionBranch reads a union index and returns the branch schema.
func (r *reader) unionBranch(n *node) (*node, error) {
	start := r.pos
	i, err := r.long()
	if err != nil {
		return nil, err
	}
	if i < 0 || i >= int64(len(n.branches)) {
		r.pos = start
		return nil, r.fail("union index " + strconv.FormatInt(i, 10) + " out of range")
	}
	return n.branches[i], nil
}

// skip walks over one value of schema n, validating it.
func (r *reader) skip(n *node, depth int) error {
	if depth > maxValueDepth {
		return r.fail("value nested too deeply")
	}
	switch n.kind {
	case kNull:
		return nil
	case kBoolean:
		_, err := r.boolean()
		return err
	case kInt:
		_, err := r.int()
		return err
	case kLong:
		_, err := r.long()
		return err
	case kFloat:
		return r.skipN(4)
	case kDouble:
		return r.skipN(8)
	case kBytes, kString:
		_, err := r.bytes()
		return err
	case kFixed:
		return r.skipN(n.size)
	case kEnum:
		start := r.pos
		i, err := r.long()
		if err != nil {
			return err
		}
		if i < 0 || i >= int64(len(n.symbols)) {
			r.pos = start
			return r.fail("enum index out of range")
		}
		return nil
	case kUnion:
		b, err := r.unionBranch(n)
		if err != nil {
			return err
		}
		return r.skip(b, depth+1)
	case kRecord:
		for i := range n.fields {
			if err := r.skip(n.fields[i].typ, depth+1); err != nil {
				return err
			}
		}
		return nil
	case kArray, kMap:
		minItem := n.elem.minSize
		if n.kind == kMap {
			minItem++ // the key
		}
		for {
			c, err := r.blockCount(minItem)
			if err != nil {
				return err
			}
			if c == 0 {
				return nil
			}
			for ; c > 0; c-- {
				if n.kind == kMap {
					if _, err := r.bytes(); err != nil {
						return err
					}
				}
				if err := r.skip(n.elem, depth+1); err != nil {
					return err
				}
			}
		}
	}
	return r.fail("unknown schema kind")
}

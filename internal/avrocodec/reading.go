package avrocodec

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/vigil-stream/vigil/internal/record"
	"github.com/vigil-stream/vigil/schemas"
)

// readingOp is what a writer field becomes when read as a record.Reading.
type readingOp uint8

const (
	opSkip readingOp = iota
	opSeriesID
	opTime
	opValue
	opFields
	opTags
	opQuality
)

type readingStep struct {
	op   readingOp
	name string
	typ  *node // writer type of the field
	// scale converts the writer's timestamp unit to microseconds: >0
	// multiplies, <0 divides.
	scale int64
}

// readingPlan reads Avro binary written with one writer schema straight into
// a record.Reading: Avro schema resolution for that single reader type.
// Writer fields the reader does not know are skipped; reader fields the
// writer lacks take their defaults. A plan is immutable once built.
type readingPlan struct {
	steps []readingStep
	// err is set when no payload of this writer schema can be a Reading
	// (wrong record, required field missing, incompatible type).
	err *DecodeError
}

// Reader-side fields of io.vigil.Reading; required ones have no default.
var readingRequired = []string{"series_id", "event_time", "value"}

func compileReadingPlan(w *node) *readingPlan {
	p := &readingPlan{}
	if w.kind != kRecord || w.name != schemas.ReadingName {
		p.err = &DecodeError{Kind: ErrIncompatibleSchema, Offset: -1, Detail: fmt.Sprintf("writer schema is %s, not %s", describe(w), schemas.ReadingName)}
		return p
	}
	for _, req := range readingRequired {
		if _, ok := w.field(req); !ok {
			p.err = &DecodeError{Kind: ErrMissingField, Offset: -1, Field: req, Detail: "writer schema lacks required field"}
			return p
		}
	}
	for _, f := range w.fields {
		st := readingStep{name: f.name, typ: f.typ}
		var ok bool
		switch f.name {
		case "series_id":
			st.op, ok = opSeriesID, allBranches(f.typ, isStringLike)
		case "event_time":
			st.op = opTime
			st.scale, ok = timestampScale(f.typ)
		case "value":
			st.op, ok = opValue, allBranches(f.typ, isNumber)
		case "fields":
			st.op, ok = opFields, allBranches(f.typ, func(n *node) bool { return n.kind == kMap && isNumber(n.elem) })
		case "tags":
			st.op, ok = opTags, allBranches(f.typ, func(n *node) bool { return n.kind == kMap && isStringLike(n.elem) })
		case "quality":
			st.op, ok = opQuality, allBranches(f.typ, func(n *node) bool { return n.kind == kEnum || isStringLike(n) })
		default:
			st.op, ok = opSkip, true
		}
		if !ok {
			p.err = &DecodeError{Kind: ErrIncompatibleSchema, Offset: -1, Field: f.name, Detail: "writer type " + describe(f.typ) + " does not promote to the reader's"}
			return p
		}
		p.steps = append(p.steps, st)
	}
	return p
}

func describe(n *node) string {
	if n.name != "" {
		return n.name
	}
	s := n.kind.String()
	if n.logical != "" {
		s += "(" + n.logical + ")"
	}
	return s
}

// allBranches applies ok to n, or to every non-null branch of a union n.
func allBranches(n *node, ok func(*node) bool) bool {
	if n.kind != kUnion {
		return ok(n)
	}
	for _, b := range n.branches {
		if b.kind != kNull && !ok(b) {
			return false
		}
	}
	return true
}

func isStringLike(n *node) bool { return n.kind == kString || n.kind == kBytes }

func isNumber(n *node) bool {
	return n.kind == kInt || n.kind == kLong || n.kind == kFloat || n.kind == kDouble
}

// timestampScale returns the factor from the writer's timestamp unit to
// microseconds. A long without a timestamp logical type is refused: its unit
// would be a guess.
func timestampScale(n *node) (int64, bool) {
	if n.kind == kUnion {
		return 0, false // event_time is required; a nullable one is not a Reading
	}
	if n.kind != kLong {
		return 0, false
	}
	switch n.logical {
	case "timestamp-millis", "local-timestamp-millis":
		return 1000, true
	case "timestamp-micros", "local-timestamp-micros":
		return 1, true
	case "timestamp-nanos", "local-timestamp-nanos":
		return -1000, true
	}
	return 0, false
}

// decode reads one Reading. It allocates only the series id string and, when
// present, the fields and tags maps and their strings.
func (p *readingPlan) decode(r *reader, out *record.Reading) *DecodeError {
	if p.err != nil {
		e := *p.err
		return &e
	}
	for i := range p.steps {
		st := &p.steps[i]
		start := r.pos
		if err := p.step(r, st, out); err != nil {
			var de *DecodeError
			if errors.As(err, &de) {
				return de
			}
			var we *wireError
			if errors.As(err, &we) {
				return &DecodeError{Kind: ErrMalformed, Offset: we.off, Field: st.name, Detail: we.msg}
			}
			return &DecodeError{Kind: ErrMalformed, Offset: start, Field: st.name, Err: err}
		}
	}
	return nil
}

func (p *readingPlan) step(r *reader, st *readingStep, out *record.Reading) error {
	t := st.typ
	if t.kind == kUnion {
		b, err := r.unionBranch(t)
		if err != nil {
			return err
		}
		if b.kind == kNull {
			switch st.op {
			case opSeriesID, opTime, opValue:
				return &DecodeError{Kind: ErrMissingField, Offset: r.pos, Field: st.name, Detail: "required field is null"}
			}
			return nil // reader default
		}
		t = b
	}
	switch st.op {
	case opSkip:
		return r.skip(t, 0)
	case opSeriesID:
		b, err := r.bytes()
		if err != nil {
			return err
		}
		out.SeriesID = string(b)
	case opTime:
		v, err := r.long()
		if err != nil {
			return err
		}
		switch {
		case st.scale > 1:
			if v > math.MaxInt64/st.scale || v < math.MinInt64/st.scale {
				return &wireError{off: r.pos, msg: "timestamp out of range"}
			}
			v *= st.scale
		case st.scale < 0:
			v /= -st.scale
		}
		out.Time = time.UnixMicro(v).UTC()
	case opValue:
		v, err := readNumber(r, t)
		if err != nil {
			return err
		}
		out.Value = v
	case opFields:
		minItem := 1 + t.elem.minSize
		for {
			c, err := r.blockCount(minItem)
			if err != nil || c == 0 {
				return err
			}
			if out.Fields == nil {
				out.Fields = make(map[string]float64, c)
			}
			for ; c > 0; c-- {
				k, err := r.bytes()
				if err != nil {
					return err
				}
				v, err := readNumber(r, t.elem)
				if err != nil {
					return err
				}
				out.Fields[string(k)] = v
			}
		}
	case opTags:
		for {
			c, err := r.blockCount(2)
			if err != nil || c == 0 {
				return err
			}
			if out.Tags == nil {
				out.Tags = make(map[string]string, c)
			}
			for ; c > 0; c-- {
				k, err := r.bytes()
				if err != nil {
					return err
				}
				v, err := r.bytes()
				if err != nil {
					return err
				}
				out.Tags[string(k)] = string(v)
			}
		}
	case opQuality:
		if t.kind == kEnum {
			start := r.pos
			i, err := r.long()
			if err != nil {
				return err
			}
			if i < 0 || i >= int64(len(t.symbols)) {
				return &wireError{off: start, msg: "enum index out of range"}
			}
			out.Quality, _ = record.ParseQuality(t.symbols[i]) // unknown symbols read as GOOD
			return nil
		}
		b, err := r.bytes()
		if err != nil {
			return err
		}
		out.Quality, _ = record.ParseQuality(string(b))
	}
	return nil
}

func readNumber(r *reader, t *node) (float64, error) {
	switch t.kind {
	case kDouble:
		return r.double()
	case kFloat:
		f, err := r.float()
		return float64(f), err
	case kInt:
		i, err := r.int()
		return float64(i), err
	case kLong:
		i, err := r.long()
		return float64(i), err
	}
	return 0, r.fail("not a number")
}

// readingNative is the goavro native form of r for the current schema.
func readingNative(r *record.Reading) map[string]any {
	fields := make(map[string]any, len(r.Fields))
	for k, v := range r.Fields {
		fields[k] = v
	}
	tags := make(map[string]any, len(r.Tags))
	for k, v := range r.Tags {
		tags[k] = v
	}
	return map[string]any{
		"series_id":  r.SeriesID,
		"event_time": r.Time.UTC(),
		"value":      r.Value,
		"fields":     fields,
		"tags":       tags,
		"quality":    r.Quality.String(),
	}
}

// readingFromNative projects a decoded JSON object onto a Reading.
func readingFromNative(p *projector, m map[string]any) record.Reading {
	var r record.Reading
	r.SeriesID = p.str(m, "series_id", true)
	r.Time = p.time(m, "event_time", true)
	r.Value = p.f64(m, "value", true)
	r.Fields = p.f64Map(m, "fields")
	r.Tags = p.strMap(m, "tags")
	if q := p.str(m, "quality", false); q != "" {
		r.Quality, _ = record.ParseQuality(q) // unknown symbols read as GOOD
	}
	return r
}

// checkReading turns a validation failure into a DecodeError.
func checkReading(r *record.Reading, framing Framing) error {
	if err := r.Validate(); err != nil {
		return validationError(err, framing)
	}
	return nil
}

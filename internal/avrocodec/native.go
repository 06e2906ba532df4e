package avrocodec

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/vigil-stream/vigil/internal/record"
)

// projector reads fields by name out of a decoded native value (goavro's
// native form of a writer-schema record, or a JSON object decoded with
// UseNumber) into Go types, filling defaults for absent optional fields. It
// records the first problem and returns zero values after that, so callers
// read all fields and check p.err once.
type projector struct {
	framing Framing
	prefix  string // dotted path of the enclosing record
	err     *DecodeError
}

func (p *projector) fail(k *Kind, name, detail string, err error) {
	if p.err == nil {
		p.err = &DecodeError{Kind: k, Framing: p.framing, Offset: -1, Field: p.prefix + name, Detail: detail, Err: err}
	}
}

// get returns m[name]; ok is false if the field is absent or null.
func (p *projector) get(m map[string]any, name string, required bool) (any, bool) {
	v, ok := m[name]
	if !ok || v == nil {
		if required && p.err == nil {
			p.fail(ErrMissingField, name, "required field absent", nil)
		}
		return nil, false
	}
	return v, true
}

// unionWrapped reports whether m looks like goavro's wrapper of a non-null
// union value: a single key naming an Avro primitive.
func unionWrapped(m map[string]any) bool {
	for k := range m {
		switch k {
		case "boolean", "int", "long", "float", "double", "bytes", "string":
			return true
		}
	}
	return false
}

// scalar is get for a field of a primitive type: it also unwraps goavro's
// native form of a non-null union value ({"double": 1.5}).
func (p *projector) scalar(m map[string]any, name string, required bool) (any, bool) {
	v, ok := p.get(m, name, required)
	if wrapped, isMap := v.(map[string]any); isMap && len(wrapped) == 1 && unionWrapped(wrapped) {
		for _, inner := range wrapped {
			v = inner
		}
	}
	return v, ok
}

func (p *projector) wrongType(name, want string, v any) {
	p.fail(ErrMalformed, name, fmt.Sprintf("want %s, got %s", want, jsonType(v)), nil)
}

func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case json.Number, float64, float32, int32, int64, int:
		return "number"
	case bool:
		return "boolean"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case nil:
		return "null"
	case time.Time:
		return "timestamp"
	}
	return fmt.Sprintf("%T", v)
}

func (p *projector) str(m map[string]any, name string, required bool) string {
	v, ok := p.scalar(m, name, required)
	if !ok {
		return ""
	}
	switch s := v.(type) {
	case string:
		return s
	case []byte:
		return string(s)
	}
	p.wrongType(name, "string", v)
	return ""
}

func (p *projector) f64(m map[string]any, name string, required bool) float64 {
	v, ok := p.scalar(m, name, required)
	if !ok {
		return 0
	}
	f, ok := p.number(name, v)
	if !ok {
		return 0
	}
	return f
}

func (p *projector) number(name string, v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case json.Number:
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				p.fail(ErrNonFinite, name, "number "+string(n)+" overflows float64", nil)
			} else {
				p.fail(ErrMalformed, name, "bad number "+strconv.Quote(string(n)), nil)
			}
			return 0, false
		}
		return f, true
	}
	p.wrongType(name, "number", v)
	return 0, false
}

func (p *projector) long(m map[string]any, name string, required bool) int64 {
	v, ok := p.scalar(m, name, required)
	if !ok {
		return 0
	}
	switch n := v.(type) {
	case int64:
		return n
	case int32:
		return int64(n)
	case json.Number:
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			p.fail(ErrMalformed, name, "want an integer, got "+strconv.Quote(string(n)), nil)
		}
		return i
	}
	p.wrongType(name, "integer", v)
	return 0
}

func (p *projector) boolean(m map[string]any, name string, required bool) bool {
	v, ok := p.scalar(m, name, required)
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		p.wrongType(name, "boolean", v)
	}
	return b
}

// time accepts a time.Time (goavro's timestamp logical types), an RFC 3339
// string, or a JSON number of milliseconds since the Unix epoch.
func (p *projector) time(m map[string]any, name string, required bool) time.Time {
	v, ok := p.scalar(m, name, required)
	if !ok {
		return time.Time{}
	}
	switch t := v.(type) {
	case time.Time:
		return t.UTC()
	case string:
		ts, err := time.Parse(time.RFC3339Nano, t)
		if err != nil {
			p.fail(ErrMalformed, name, "want an RFC 3339 time or epoch milliseconds", err)
			return time.Time{}
		}
		return ts.UTC()
	case json.Number:
		ms, err := strconv.ParseInt(string(t), 10, 64)
		if err != nil {
			f, ferr := strconv.ParseFloat(string(t), 64)
			if ferr != nil || math.IsNaN(f) || math.Abs(f) > 9e15 {
				p.fail(ErrMalformed, name, "epoch milliseconds "+string(t)+" out of range", nil)
				return time.Time{}
			}
			return time.UnixMicro(int64(math.Round(f * 1000))).UTC()
		}
		if ms > math.MaxInt64/1000 || ms < math.MinInt64/1000 {
			p.fail(ErrMalformed, name, "epoch milliseconds "+string(t)+" out of range", nil)
			return time.Time{}
		}
		return time.UnixMilli(ms).UTC()
	}
	p.wrongType(name, "time", v)
	return time.Time{}
}

func (p *projector) rec(m map[string]any, name string, required bool) map[string]any {
	v, ok := p.get(m, name, required)
	if !ok {
		return map[string]any{}
	}
	r, ok := v.(map[string]any)
	if !ok {
		p.wrongType(name, "object", v)
		return map[string]any{}
	}
	return r
}

// sub projects the required nested record m[name] with fn, whose projector
// names fields by their dotted path. fn is not called if the record is
// absent or not an object.
func (p *projector) sub(m map[string]any, name string, fn func(p *projector, rec map[string]any)) {
	rec := p.rec(m, name, true)
	if p.err != nil {
		return
	}
	c := projector{framing: p.framing, prefix: p.prefix + name + "."}
	fn(&c, rec)
	p.err = c.err
}

func (p *projector) f64Map(m map[string]any, name string) map[string]float64 {
	return projectMap(p, m, name, p.number)
}

func (p *projector) strMap(m map[string]any, name string) map[string]string {
	return projectMap(p, m, name, func(path string, e any) (string, bool) {
		s, ok := e.(string)
		if !ok {
			p.wrongType(path, "string", e)
		}
		return s, ok
	})
}

// projectMap projects the map field name of m, converting each value with
// conv (which reports a wrong type itself); nil when absent, empty or bad.
func projectMap[T any](p *projector, m map[string]any, name string, conv func(path string, e any) (T, bool)) map[string]T {
	v, ok := p.get(m, name, false)
	if !ok {
		return nil
	}
	mm, ok := v.(map[string]any)
	if !ok {
		p.wrongType(name, "object", v)
		return nil
	}
	if len(mm) == 0 {
		return nil
	}
	out := make(map[string]T, len(mm))
	for k, e := range mm {
		x, ok := conv(name+"."+k, e)
		if !ok {
			return nil
		}
		out[k] = x
	}
	return out
}

// validationError maps a record validation failure onto a DecodeError.
func validationError(err error, framing Framing) *DecodeError {
	k := ErrInvalid
	if errors.Is(err, record.ErrNonFinite) {
		k = ErrNonFinite
	}
	return &DecodeError{Kind: k, Framing: framing, Offset: -1, Err: err}
}

// Events.

func eventNative(e *record.Event) map[string]any {
	tags := make(map[string]any, len(e.Tags))
	for k, v := range e.Tags {
		tags[k] = v
	}
	return map[string]any{
		"event_id":       e.ID,
		"kind":           e.Kind.String(),
		"series_id":      e.SeriesID,
		"event_time":     e.Time.UTC(),
		"detection_time": e.DetectedAt.UTC(),
		"value":          e.Value,
		"predicted":      e.Predicted,
		"raw_error":      e.RawError,
		"smoothed_error": e.SmoothedError,
		"threshold":      e.Threshold,
		"score":          e.Score,
		"direction":      e.Direction.String(),
		"episode": map[string]any{
			"id":         e.Episode.ID,
			"start_time": e.Episode.Start.UTC(),
			"peak_time":  e.Episode.PeakTime.UTC(),
			"peak_value": e.Episode.PeakValue,
			"peak_score": e.Episode.PeakScore,
			"readings":   e.Episode.Readings,
		},
		"model": map[string]any{
			"name":    e.Model.Name,
			"version": e.Model.Version,
		},
		"provenance": provenanceNative(e.Provenance),
		"explanation": map[string]any{
			"z":                  e.Explanation.Z,
			"mu":                 e.Explanation.Mu,
			"sigma":              e.Explanation.Sigma,
			"warmup":             e.Explanation.WarmUp,
			"pruning_considered": e.Explanation.PruningConsidered,
			"pruned":             e.Explanation.Pruned,
			"reason":             e.Explanation.Reason,
		},
		"tags": tags,
	}
}

func provenanceNative(p record.Provenance) map[string]any {
	return map[string]any{"topic": p.Topic, "partition": p.Partition, "offset": p.Offset}
}

func provenanceFromNative(p *projector, m map[string]any) record.Provenance {
	var out record.Provenance
	p.sub(m, "provenance", func(p *projector, pm map[string]any) {
		out.Topic = p.str(pm, "topic", true)
		part := p.long(pm, "partition", true)
		if part < math.MinInt32 || part > math.MaxInt32 {
			p.fail(ErrMalformed, "partition", "out of int range", nil)
		}
		out.Partition = int32(part)
		out.Offset = p.long(pm, "offset", true)
	})
	return out
}

func eventFromNative(p *projector, m map[string]any) record.Event {
	var e record.Event
	e.ID = p.str(m, "event_id", true)
	if s := p.str(m, "kind", true); p.err == nil {
		k, ok := record.ParseEventKind(s)
		if !ok {
			p.fail(ErrInvalid, "kind", "unknown symbol "+strconv.Quote(s), nil)
		}
		e.Kind = k
	}
	e.SeriesID = p.str(m, "series_id", true)
	e.Time = p.time(m, "event_time", true)
	e.DetectedAt = p.time(m, "detection_time", true)
	e.Value = p.f64(m, "value", true)
	e.Predicted = p.f64(m, "predicted", true)
	e.RawError = p.f64(m, "raw_error", true)
	e.SmoothedError = p.f64(m, "smoothed_error", true)
	e.Threshold = p.f64(m, "threshold", true)
	e.Score = p.f64(m, "score", true)
	if s := p.str(m, "direction", true); p.err == nil {
		d, ok := record.ParseDirection(s)
		if !ok {
			p.fail(ErrInvalid, "direction", "unknown symbol "+strconv.Quote(s), nil)
		}
		e.Direction = d
	}
	p.sub(m, "episode", func(p *projector, em map[string]any) {
		e.Episode.ID = p.str(em, "id", true)
		e.Episode.Start = p.time(em, "start_time", true)
		e.Episode.PeakTime = p.time(em, "peak_time", true)
		e.Episode.PeakValue = p.f64(em, "peak_value", true)
		e.Episode.PeakScore = p.f64(em, "peak_score", true)
		e.Episode.Readings = p.long(em, "readings", false)
	})
	p.sub(m, "model", func(p *projector, mm map[string]any) {
		e.Model.Name = p.str(mm, "name", true)
		e.Model.Version = p.str(mm, "version", true)
	})
	e.Provenance = provenanceFromNative(p, m)
	p.sub(m, "explanation", func(p *projector, xm map[string]any) {
		e.Explanation.Z = p.f64(xm, "z", false)
		e.Explanation.Mu = p.f64(xm, "mu", false)
		e.Explanation.Sigma = p.f64(xm, "sigma", false)
		e.Explanation.WarmUp = p.boolean(xm, "warmup", false)
		e.Explanation.PruningConsidered = p.boolean(xm, "pruning_considered", false)
		e.Explanation.Pruned = p.boolean(xm, "pruned", false)
		e.Explanation.Reason = p.str(xm, "reason", false)
	})
	e.Tags = p.strMap(m, "tags")
	return e
}

// Scores.

func scoreNative(s *record.Score) map[string]any {
	return map[string]any{
		"series_id":      s.SeriesID,
		"event_time":     s.Time.UTC(),
		"value":          s.Value,
		"predicted":      s.Predicted,
		"smoothed_error": s.SmoothedError,
		"threshold":      s.Threshold,
		"score":          s.Score,
		"anomalous":      s.Anomalous,
		"warmup":         s.WarmUp,
		"model_version":  s.ModelVersion,
		"provenance":     provenanceNative(s.Provenance),
	}
}

func scoreFromNative(p *projector, m map[string]any) record.Score {
	var s record.Score
	s.SeriesID = p.str(m, "series_id", true)
	s.Time = p.time(m, "event_time", true)
	s.Value = p.f64(m, "value", true)
	s.Predicted = p.f64(m, "predicted", true)
	s.SmoothedError = p.f64(m, "smoothed_error", true)
	s.Threshold = p.f64(m, "threshold", true)
	s.Score = p.f64(m, "score", true)
	s.Anomalous = p.boolean(m, "anomalous", true)
	s.WarmUp = p.boolean(m, "warmup", false)
	s.ModelVersion = p.str(m, "model_version", false)
	s.Provenance = provenanceFromNative(p, m)
	return s
}

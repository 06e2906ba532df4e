package record

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Validation errors. Validate methods wrap them with the offending field, so
// callers branch with errors.Is.
var (
	// ErrEmptySeriesID reports a record without a series id.
	ErrEmptySeriesID = errors.New("empty series id")
	// ErrNonFinite reports a NaN or infinite number where a finite one is
	// required.
	ErrNonFinite = errors.New("non-finite value")
	// ErrOutOfRange reports a number outside its documented range, such as
	// a score outside [0, 1].
	ErrOutOfRange = errors.New("value out of range")
	// ErrInvalidEnum reports an enum value outside its declared symbols.
	ErrInvalidEnum = errors.New("invalid enum value")
)

// Quality is a producer's own judgement of a measurement. The zero value is
// QualityGood, which is also what a reading without a quality means.
type Quality uint8

// Quality values, in the order of the io.vigil.Quality enum symbols.
const (
	QualityGood      Quality = iota // the measurement is trustworthy
	QualityUncertain                // usable, but the sensor doubts it
	QualityBad                      // not to be scored
)

var qualityNames = [...]string{"GOOD", "UNCERTAIN", "BAD"}

// String returns the Avro symbol of q, or "Quality(n)" for an invalid value.
func (q Quality) String() string {
	if int(q) < len(qualityNames) {
		return qualityNames[q]
	}
	return fmt.Sprintf("Quality(%d)", uint8(q))
}

// Valid reports whether q is one of the declared qualities.
func (q Quality) Valid() bool { return int(q) < len(qualityNames) }

// ParseQuality maps an Avro symbol to a Quality. ok is false for an unknown
// symbol.
func ParseQuality(s string) (q Quality, ok bool) {
	for i, n := range qualityNames {
		if n == s {
			return Quality(i), true
		}
	}
	return QualityGood, false
}

// Reading is one sensor reading: the value a series took at an instant
// (schema io.vigil.Reading).
type Reading struct {
	// SeriesID identifies the series (sensor and channel). Required.
	SeriesID string
	// Time is the event time of the measurement, UTC. The wire carries
	// microseconds; finer precision is truncated.
	Time time.Time
	// Value is the primary measured value. Must be finite.
	Value float64
	// Fields holds further named channels of a multivariate sensor. Nil and
	// empty are equivalent. Values must be finite.
	Fields map[string]float64
	// Tags are free-form labels carried through to events. Nil and empty are
	// equivalent.
	Tags map[string]string
	// Quality is the producer's judgement; the zero value is QualityGood.
	Quality Quality
}

// Validate reports whether r can be scored: it needs a series id, a finite
// value, finite fields and a declared quality. The error wraps
// ErrEmptySeriesID, ErrNonFinite or ErrInvalidEnum.
func (r *Reading) Validate() error {
	if r.SeriesID == "" {
		return fmt.Errorf("series_id: %w", ErrEmptySeriesID)
	}
	if !finite(r.Value) {
		return fmt.Errorf("value %v: %w", r.Value, ErrNonFinite)
	}
	for k, v := range r.Fields {
		if !finite(v) {
			return fmt.Errorf("fields[%q] %v: %w", k, v, ErrNonFinite)
		}
	}
	if !r.Quality.Valid() {
		return fmt.Errorf("quality %v: %w", r.Quality, ErrInvalidEnum)
	}
	return nil
}

// Provenance locates the reading that caused a record: the Kafka topic,
// partition and offset it was consumed from.
type Provenance struct {
	Topic     string
	Partition int32
	Offset    int64
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

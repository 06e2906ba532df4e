package record

import (
	"fmt"
	"time"
)

// Score is the compact per-reading record of the optional scores topic
// (schema io.vigil.Score).
type Score struct {
	SeriesID string
	// Time is the event time of the reading.
	Time time.Time
	// Value is the observed value, Predicted the model's prediction.
	Value, Predicted float64
	// SmoothedError is compared with Threshold.
	SmoothedError, Threshold float64
	// Score is the anomaly score in [0, 1].
	Score float64
	// Anomalous is true if the reading was flagged.
	Anomalous bool
	// WarmUp is true while the series is still warming up.
	WarmUp bool
	// ModelVersion is the version of the model that scored the reading.
	ModelVersion string
	// Provenance locates the reading on Kafka.
	Provenance Provenance
}

// Validate checks for a series id, finite numbers and a score in [0, 1]. The
// error wraps ErrEmptySeriesID, ErrNonFinite or ErrOutOfRange.
func (s *Score) Validate() error {
	if s.SeriesID == "" {
		return fmt.Errorf("series_id: %w", ErrEmptySeriesID)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"value", s.Value}, {"predicted", s.Predicted}, {"smoothed_error", s.SmoothedError},
		{"threshold", s.Threshold}, {"score", s.Score},
	} {
		if !finite(f.v) {
			return fmt.Errorf("%s %v: %w", f.name, f.v, ErrNonFinite)
		}
	}
	if s.Score < 0 || s.Score > 1 {
		return fmt.Errorf("score %v not in [0, 1]: %w", s.Score, ErrOutOfRange)
	}
	return nil
}

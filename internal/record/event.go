package record

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"
)

// EventKind says what happened to an anomaly episode.
type EventKind uint8

// Event kinds, in the order of the io.vigil.EventKind enum symbols.
const (
	EventOpened  EventKind = iota // the first anomalous reading of an episode
	EventUpdated                  // a later reading raised the episode's peak score
	EventClosed                   // the episode ended
)

var eventKindNames = [...]string{"OPENED", "UPDATED", "CLOSED"}

// String returns the Avro symbol of k, or "EventKind(n)" for an invalid value.
func (k EventKind) String() string {
	if int(k) < len(eventKindNames) {
		return eventKindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Valid reports whether k is one of the declared kinds.
func (k EventKind) Valid() bool { return int(k) < len(eventKindNames) }

// ParseEventKind maps an Avro symbol to an EventKind; ok is false for an
// unknown symbol.
func ParseEventKind(s string) (k EventKind, ok bool) {
	for i, n := range eventKindNames {
		if n == s {
			return EventKind(i), true
		}
	}
	return 0, false
}

// Direction says on which side of the prediction the observed value lay.
type Direction uint8

// Directions, in the order of the io.vigil.Direction enum symbols.
const (
	DirectionAbove Direction = iota // value > predicted
	DirectionBelow                  // value < predicted
)

var directionNames = [...]string{"ABOVE", "BELOW"}

// String returns the Avro symbol of d, or "Direction(n)" for an invalid value.
func (d Direction) String() string {
	if int(d) < len(directionNames) {
		return directionNames[d]
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// Valid reports whether d is one of the declared directions.
func (d Direction) Valid() bool { return int(d) < len(directionNames) }

// ParseDirection maps an Avro symbol to a Direction; ok is false for an
// unknown symbol.
func ParseDirection(s string) (d Direction, ok bool) {
	for i, n := range directionNames {
		if n == s {
			return Direction(i), true
		}
	}
	return 0, false
}

// DirectionOf returns DirectionBelow if value < predicted, else DirectionAbove.
func DirectionOf(value, predicted float64) Direction {
	if value < predicted {
		return DirectionBelow
	}
	return DirectionAbove
}

// Episode is the state of a run of anomalous readings of one series.
type Episode struct {
	// ID is the deterministic episode id; see EpisodeID.
	ID string
	// Start is the event time of the reading that opened the episode.
	Start time.Time
	// PeakTime is the event time of the highest-scoring reading so far.
	PeakTime time.Time
	// PeakValue is the observed value at PeakTime.
	PeakValue float64
	// PeakScore is the score at PeakTime, in [0, 1].
	PeakScore float64
	// Readings counts the readings in the episode so far; 0 when unknown.
	Readings int64
}

// Model names the model that scored a reading.
type Model struct {
	Name    string
	Version string
}

// Explanation says, for humans, why the detector decided as it did.
type Explanation struct {
	// Z is (smoothed error − Mu) / Sigma over the error window.
	Z float64
	// Mu and Sigma are the mean and standard deviation of the smoothed
	// errors in the window.
	Mu, Sigma float64
	// WarmUp is true while the series was still warming up.
	WarmUp bool
	// PruningConsidered is true if anomaly pruning was evaluated.
	PruningConsidered bool
	// Pruned is true if pruning demoted the episode (CLOSED events only).
	Pruned bool
	// Reason is a short human-readable reason.
	Reason string
}

// Event is emitted when an anomaly episode opens, is updated or closes
// (schema io.vigil.AnomalyEvent). Alerting services consume it.
type Event struct {
	// ID is deterministic (see EventID) so that consumers can de-duplicate.
	ID   string
	Kind EventKind
	// SeriesID and Time identify the triggering reading.
	SeriesID string
	Time     time.Time
	// DetectedAt is the wall-clock time the event was emitted.
	DetectedAt time.Time
	// Value, Predicted, RawError (Value − Predicted) and SmoothedError
	// describe the triggering reading.
	Value, Predicted, RawError, SmoothedError float64
	// Threshold is the dynamic threshold in force.
	Threshold float64
	// Score is the anomaly score in [0, 1].
	Score     float64
	Direction Direction
	Episode   Episode
	Model     Model
	// Provenance locates the triggering reading on Kafka.
	Provenance  Provenance
	Explanation Explanation
	// Tags are the triggering reading's tags. Nil and empty are equivalent.
	Tags map[string]string
}

// Validate checks what a consumer of events relies on: ids present, finite
// numbers, a score in [0, 1] and declared enum values. The error wraps
// ErrEmptySeriesID, ErrNonFinite, ErrOutOfRange or ErrInvalidEnum.
func (e *Event) Validate() error {
	if e.SeriesID == "" {
		return fmt.Errorf("series_id: %w", ErrEmptySeriesID)
	}
	if !e.Kind.Valid() {
		return fmt.Errorf("kind %v: %w", e.Kind, ErrInvalidEnum)
	}
	if !e.Direction.Valid() {
		return fmt.Errorf("direction %v: %w", e.Direction, ErrInvalidEnum)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"value", e.Value}, {"predicted", e.Predicted}, {"raw_error", e.RawError},
		{"smoothed_error", e.SmoothedError}, {"threshold", e.Threshold}, {"score", e.Score},
		{"episode.peak_value", e.Episode.PeakValue}, {"episode.peak_score", e.Episode.PeakScore},
		{"explanation.z", e.Explanation.Z}, {"explanation.mu", e.Explanation.Mu},
		{"explanation.sigma", e.Explanation.Sigma},
	} {
		if !finite(f.v) {
			return fmt.Errorf("%s %v: %w", f.name, f.v, ErrNonFinite)
		}
	}
	if e.Score < 0 || e.Score > 1 {
		return fmt.Errorf("score %v not in [0, 1]: %w", e.Score, ErrOutOfRange)
	}
	if e.Episode.PeakScore < 0 || e.Episode.PeakScore > 1 {
		return fmt.Errorf("episode.peak_score %v not in [0, 1]: %w", e.Episode.PeakScore, ErrOutOfRange)
	}
	return nil
}

// idLen is the number of SHA-256 bytes kept in event and episode ids.
const idLen = 16

// EventID derives the deterministic id of an event: the lower-case hex of
// the first 16 bytes of SHA-256 over, in order, the series id, the episode
// id, the kind symbol, the event time of the triggering reading in
// microseconds since the Unix epoch (8 bytes, big-endian two's complement),
// the model name and the model version. Each string is preceded by its
// length as a 4-byte big-endian integer, so no two inputs share an encoding.
//
// The same reading scored by the same model in the same episode therefore
// yields the same id however often it is redelivered or replayed, and the
// Kafka offset (which differs between a topic and its mirror) plays no part.
// DetectedAt is wall-clock time and is deliberately excluded.
func EventID(seriesID, episodeID string, kind EventKind, eventTime time.Time, m Model) string {
	h := sha256.New()
	writeString(h, seriesID)
	writeString(h, episodeID)
	writeString(h, kind.String())
	writeInt64(h, eventTime.UnixMicro())
	writeString(h, m.Name)
	writeString(h, m.Version)
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:idLen])
}

// EpisodeID derives the deterministic id of an episode from the series id,
// the event time of the reading that opened it and the model, hashed as in
// EventID (with the domain string "episode" first, so episode and event ids
// never collide).
func EpisodeID(seriesID string, start time.Time, m Model) string {
	h := sha256.New()
	writeString(h, "episode")
	writeString(h, seriesID)
	writeInt64(h, start.UnixMicro())
	writeString(h, m.Name)
	writeString(h, m.Version)
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:idLen])
}

type hashWriter interface{ Write([]byte) (int, error) }

func writeString(h hashWriter, s string) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(s)))
	_, _ = h.Write(n[:]) // a hash.Hash never fails
	_, _ = h.Write([]byte(s))
}

func writeInt64(h hashWriter, v int64) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(v))
	_, _ = h.Write(b[:])
}

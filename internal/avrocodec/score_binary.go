package avrocodec

import (
	"encoding/binary"
	"math"

	"github.com/vigil-stream/vigil/internal/record"
)

// appendScoreBody appends the Avro binary encoding of s under the current
// score schema (schemas/score.avsc), field by field in schema order:
//
//	series_id string, event_time long (µs), value, predicted,
//	smoothed_error, threshold, score double, anomalous, warmup boolean,
//	model_version string, provenance {topic string, partition int, offset long}
//
// It is the hot path of the consumer's score records (one per reading) and
// writes exactly what goavro writes for the same record (tested), without
// building a map per record.
func appendScoreBody(b []byte, s *record.Score) []byte {
	b = appendAvroString(b, s.SeriesID)
	b = binary.AppendVarint(b, s.Time.UnixMicro())
	for _, f := range [...]float64{s.Value, s.Predicted, s.SmoothedError, s.Threshold, s.Score} {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
	}
	b = appendAvroBool(b, s.Anomalous)
	b = appendAvroBool(b, s.WarmUp)
	b = appendAvroString(b, s.ModelVersion)
	b = appendAvroString(b, s.Provenance.Topic)
	b = binary.AppendVarint(b, int64(s.Provenance.Partition))
	return binary.AppendVarint(b, s.Provenance.Offset)
}

func appendAvroString(b []byte, s string) []byte {
	b = binary.AppendVarint(b, int64(len(s)))
	return append(b, s...)
}

func appendAvroBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

package stream_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/vigil-stream/vigil/internal/avrocodec"
	"github.com/vigil-stream/vigil/internal/kafkatest"
	"github.com/vigil-stream/vigil/internal/record"
	"github.com/vigil-stream/vigil/internal/stream"
)

// TestDeadLetters sends every class of bad input through a running
// consumer: each lands unchanged on the dead-letter topic with headers
// naming the reason and its source, or is ignored idempotently where that is
// the policy (duplicates), and the good readings around them are scored.
func TestDeadLetters(t *testing.T) {
	tp := detectTopics(t, 1)
	codec, err := avrocodec.New(avrocodec.DefaultConfig(), nil, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer codec.Close()
	ctx := context.Background()
	enc := func(r record.Reading) []byte {
		b, err := codec.EncodeReading(ctx, nil, &r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	at := func(i int) time.Time { return synthStart.Add(time.Duration(i) * time.Minute) }
	good := func(series string, i int) []byte {
		return enc(record.Reading{SeriesID: series, Time: at(i), Value: 50 + float64(i%7)})
	}

	nan := good("a", 9)
	one := make([]byte, 8)
	binary.LittleEndian.PutUint64(one, math.Float64bits(50+float64(9%7)))
	i := bytes.Index(nan, one)
	if i < 0 {
		t.Fatal("value not found in the encoding")
	}
	binary.LittleEndian.PutUint64(nan[i:], math.Float64bits(math.NaN()))
	unknown := append([]byte{0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8}, good("a", 10)[10:]...)

	type input struct {
		value  []byte
		reason string // "" : not dead-lettered
		scored bool
	}
	inputs := []input{
		{value: good("a", 0), scored: true},
		{value: good("a", 1), scored: true},
		{value: []byte("\xff\xfegarbage"), reason: "malformed"},
		{value: []byte("\x00\x00\x00\x00\x07garbage"), reason: "unknown_schema"}, // Confluent framing, no registry
		{value: []byte("not a reading at all"), reason: "malformed"},
		{value: nil, reason: "malformed"}, // a tombstone
		{value: unknown, reason: "unknown_schema"},
		{value: []byte(`{"series_id":"","event_time":"2024-01-01T00:03:00Z","value":1}`), reason: "invalid"},
		{value: []byte(`{"event_time":"2024-01-01T00:03:00Z","value":1}`), reason: "missing_field"},
		{value: nan, reason: "non_finite"},
		{value: []byte(`{"series_id":"a","event_time":"2024-01-01T00:05:00Z"}`), reason: "missing_field"},
		{value: good("a", 2), scored: true},
		{value: good("a", 1), reason: "out_of_order"},
		{value: good("a", 2)}, // duplicate event time: ignored
		{value: good("b", 0), scored: true},
		{value: good("c", 0), scored: true},
		{value: good("d", 0), reason: "series_limit"}, // the fourth live series
		{value: good("a", 3), scored: true},
	}
	msgs := make([]kafka.Message, len(inputs))
	for i, in := range inputs {
		msgs[i] = kafka.Message{Topic: tp.In, Key: []byte("k"), Value: in.value,
			Headers: []kafka.Header{{Key: "producer", Value: []byte("test")}}}
	}
	kafkatest.Produce(t, kafkatest.Writer(t), msgs...)

	dcfg := detectConfig()
	dcfg.MaxSeries = 3
	runInProcessWith(t, dcfg, tp, kafkatest.Name(t, "group"))

	dead := kafkatest.ReadAll(t, tp.DLQ)
	var want []int
	for i, in := range inputs {
		if in.reason != "" {
			want = append(want, i)
		}
	}
	if len(dead) != len(want) {
		t.Fatalf("%d dead letters, want %d", len(dead), len(want))
	}
	for j, m := range dead {
		in := inputs[want[j]]
		h := map[string]string{}
		for _, x := range m.Headers {
			h[x.Key] = string(x.Value)
		}
		if h[stream.HeaderDLQReason] != in.reason {
			t.Errorf("input %d: reason %q, want %q (error: %s)", want[j], h[stream.HeaderDLQReason], in.reason, h[stream.HeaderDLQError])
		}
		if !bytes.Equal(m.Value, in.value) || string(m.Key) != "k" || h["producer"] != "test" {
			t.Errorf("input %d: the dead letter is not the record unchanged", want[j])
		}
		if h[stream.HeaderDLQTopic] != tp.In || h[stream.HeaderDLQPartition] != "0" || h[stream.HeaderDLQOffset] != strconv.Itoa(want[j]) {
			t.Errorf("input %d: source headers %v", want[j], h)
		}
		if h[stream.HeaderDLQError] == "" {
			t.Errorf("input %d: no error detail", want[j])
		}
	}
	scored := map[int64]bool{}
	for _, m := range kafkatest.ReadAll(t, tp.Scores) {
		s, err := codec.DecodeScore(ctx, m.Value)
		if err != nil {
			t.Fatal(err)
		}
		scored[s.Provenance.Offset] = true
	}
	for i, in := range inputs {
		if scored[int64(i)] != in.scored {
			t.Errorf("input %d: scored %v, want %v", i, scored[int64(i)], in.scored)
		}
	}
}

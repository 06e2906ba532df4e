package trainer_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/vigil-stream/vigil/internal/avrocodec"
	"github.com/vigil-stream/vigil/internal/kafkatest"
	"github.com/vigil-stream/vigil/internal/record"
	"github.com/vigil-stream/vigil/internal/replay"
	"github.com/vigil-stream/vigil/internal/stream"
	"github.com/vigil-stream/vigil/internal/trainer"
)

// TestLoadKafkaExcludes replays an input topic and leaves out the readings
// inside an anomaly episode the consumer published (widened by the margin)
// and a reading it dead-lettered.
func TestLoadKafkaExcludes(t *testing.T) {
	in := kafkatest.Topic(t, "sensors", 2)
	events := kafkatest.Topic(t, "anomalies", 1)
	dlq := kafkatest.Topic(t, "dlq", 1)
	ctx := context.Background()
	codec, err := avrocodec.New(avrocodec.DefaultConfig(), nil, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer codec.Close()
	series := replay.Synthetic(2, 300, start, time.Minute, 5)
	w := kafkatest.Writer(t)
	before := time.Now().Add(-time.Second)
	if _, err := replay.Run(ctx, replay.Config{Topic: in}, series, codec, w, zap.NewNop()); err != nil {
		t.Fatal(err)
	}

	// An episode of series 0 from minute 100 to minute 109 (10 readings),
	// with a margin of one minute on each side: 12 readings excluded.
	m := record.Model{Name: "default", Version: "1"}
	epStart := start.Add(100 * time.Minute)
	epID := record.EpisodeID(series[0].ID, epStart, m)
	var msgs []kafka.Message
	for _, ev := range []struct {
		kind record.EventKind
		at   time.Time
	}{{record.EventOpened, epStart}, {record.EventUpdated, epStart.Add(3 * time.Minute)}, {record.EventClosed, epStart.Add(9 * time.Minute)}} {
		e := record.Event{ID: record.EventID(series[0].ID, epID, ev.kind, ev.at, m), Kind: ev.kind, SeriesID: series[0].ID,
			Time: ev.at, DetectedAt: time.Now(), Score: 0.7, Model: m,
			Episode: record.Episode{ID: epID, Start: epStart, PeakTime: epStart, PeakScore: 0.7}}
		b, err := codec.EncodeEvent(ctx, nil, &e)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, kafka.Message{Topic: events, Key: []byte(e.SeriesID), Value: b})
	}
	kafkatest.Produce(t, w, msgs...)

	// One reading of series 1 was dead-lettered: find its partition and offset.
	all := kafkatest.ReadAll(t, in)
	var victim kafka.Message
	for _, msg := range all {
		if string(msg.Key) == series[1].ID {
			victim = msg
			break
		}
	}
	kafkatest.Produce(t, w, kafka.Message{Topic: dlq, Value: victim.Value, Headers: []kafka.Header{
		{Key: stream.HeaderDLQReason, Value: []byte("out_of_order")},
		{Key: stream.HeaderDLQTopic, Value: []byte(in)},
		{Key: stream.HeaderDLQPartition, Value: []byte(strconv.Itoa(victim.Partition))},
		{Key: stream.HeaderDLQOffset, Value: []byte(strconv.FormatInt(victim.Offset, 10))},
	}})

	cfg := smallConfig(t, t.TempDir())
	cfg.Topics, cfg.EventsTopic, cfg.DLQTopic, cfg.Margin = []string{in}, events, dlq, time.Minute
	client := kafkatest.Client(t)
	d, err := trainer.LoadKafka(ctx, client, codec, cfg, before, time.Now().Add(time.Minute), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Series) != 2 {
		t.Fatalf("%d series", len(d.Series))
	}
	if got := len(d.Series[0].Values); got != 300-12 || d.Dropped["anomaly episode"] != 12 {
		t.Fatalf("series 0: %d readings kept, %v dropped; want 288 and 12 in the episode", got, d.Dropped)
	}
	if got := len(d.Series[1].Values); got != 299 || d.Dropped["dead-lettered"] != 1 {
		t.Fatalf("series 1: %d readings kept, %v dropped; want 299 and 1 dead-lettered", got, d.Dropped)
	}
	if sp := d.Excluded[series[0].ID]; len(sp) != 1 || sp[0].Readings != 12 {
		t.Fatalf("excluded spans %+v", sp)
	}

	// A range that ends before the data was written reads nothing.
	empty, err := trainer.LoadKafka(ctx, client, codec, cfg, before.Add(-time.Hour), before, zap.NewNop())
	if err != nil || len(empty.Series) != 0 {
		t.Fatalf("empty range: %d series, %v", len(empty.Series), err)
	}
}

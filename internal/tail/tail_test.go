package tail_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/vigil-stream/vigil/internal/avrocodec"
	"github.com/vigil-stream/vigil/internal/kafkatest"
	"github.com/vigil-stream/vigil/internal/record"
	"github.com/vigil-stream/vigil/internal/tail"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, kafkatest.LeakOptions()...)
}

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func event(kind record.EventKind) record.Event {
	m := record.Model{Name: "pumps", Version: "3"}
	ep := record.EpisodeID("plant-1/pump-7", t0, m)
	return record.Event{ID: record.EventID("plant-1/pump-7", ep, kind, t0, m), Kind: kind, SeriesID: "plant-1/pump-7",
		Time: t0, DetectedAt: t0, Value: 88.5, Predicted: 61.2, Score: 0.81, Direction: record.DirectionAbove, Model: m,
		Episode:     record.Episode{ID: ep, Start: t0, PeakTime: t0, PeakValue: 88.5, PeakScore: 0.81, Readings: 12},
		Explanation: record.Explanation{Reason: "smoothed error 3.1 exceeds the threshold 1.9"}}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		kind record.EventKind
		want []string
	}{
		{record.EventOpened, []string{"OPENED", "2024-03-01 12:00:00", "plant-1/pump-7", "value 88.5, expected 61.2 (above)", "score 0.81", "pumps v3", "why: smoothed error 3.1"}},
		{record.EventClosed, []string{"CLOSED", "over after 12 flagged readings", "peak score 0.81"}},
	}
	for _, tc := range tests {
		t.Run(tc.kind.String(), func(t *testing.T) {
			e := event(tc.kind)
			got := tail.Format(&e)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q lacks %q", got, w)
				}
			}
		})
	}
}

func TestRunPrintsEvents(t *testing.T) {
	topic := kafkatest.Topic(t, "anomalies", 2)
	codec, err := avrocodec.New(avrocodec.DefaultConfig(), nil, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer codec.Close()
	var msgs []kafka.Message
	for _, k := range []record.EventKind{record.EventOpened, record.EventUpdated, record.EventClosed} {
		e := event(k)
		b, err := codec.EncodeEvent(context.Background(), nil, &e)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, kafka.Message{Topic: topic, Key: []byte(e.SeriesID), Value: b})
	}
	kafkatest.Produce(t, kafkatest.Writer(t), msgs...)
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := tail.Config{Topic: topic, FromStart: true, Count: 2, Kinds: "OPENED,CLOSED"}
	if err := tail.Run(ctx, cfg, &kafka.Dialer{Timeout: 5 * time.Second}, kafkatest.Brokers(t), codec, &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if !strings.Contains(got, "OPENED") || !strings.Contains(got, "CLOSED") || strings.Contains(got, "UPDATED") {
		t.Fatalf("output:\n%s", got)
	}
}

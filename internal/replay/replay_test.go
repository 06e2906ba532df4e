package replay_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/vigil-stream/vigil/internal/avrocodec"
	"github.com/vigil-stream/vigil/internal/kafkatest"
	"github.com/vigil-stream/vigil/internal/model"
	"github.com/vigil-stream/vigil/internal/record"
	"github.com/vigil-stream/vigil/internal/replay"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, kafkatest.LeakOptions()...)
}

func ts(s ...string) []time.Time {
	out := make([]time.Time, len(s))
	for i, x := range s {
		out[i], _ = time.Parse(time.RFC3339, x)
	}
	return out
}

func TestOrder(t *testing.T) {
	series := []model.Series{
		{ID: "a", Times: ts("2020-01-01T00:00:00Z", "2020-01-01T00:02:00Z", "2020-01-01T00:01:30Z"), Values: []float64{1, 2, 3}},
		{ID: "b", Times: ts("2020-01-01T00:01:00Z", "2020-01-01T00:02:00Z"), Values: []float64{4, 5}},
		{ID: "c"},
	}
	got := replay.Order(series)
	// a's third row goes back in time: it stays after a's second, and
	// being earlier than b's second, goes before it.
	want := [][2]int{{0, 0}, {1, 0}, {0, 1}, {0, 2}, {1, 1}}
	if len(got) != len(want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %v, want %v", got, want)
		}
	}
}

func TestSyntheticIsDeterministic(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	a := replay.Synthetic(3, 100, start, time.Minute, 9)
	b := replay.Synthetic(3, 100, start, time.Minute, 9)
	c := replay.Synthetic(3, 100, start, time.Minute, 10)
	same := true
	for i := range a {
		for k := range a[i].Values {
			if a[i].Values[k] != b[i].Values[k] {
				t.Fatal("same seed gave different series")
			}
			same = same && a[i].Values[k] == c[i].Values[k]
		}
	}
	if same {
		t.Fatal("different seeds gave the same series")
	}
}

type countingWriter struct {
	n     int
	calls []time.Time
}

func (w *countingWriter) WriteMessages(_ context.Context, msgs ...kafka.Message) error {
	w.n += len(msgs)
	w.calls = append(w.calls, time.Now())
	return nil
}

func TestRunRateAndLimit(t *testing.T) {
	codec, err := avrocodec.New(avrocodec.DefaultConfig(), nil, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer codec.Close()
	series := replay.Synthetic(4, 100, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Minute, 1)
	tests := []struct {
		name      string
		rate      float64
		limit     int
		want      int
		minSpread time.Duration
	}{
		{name: "everything, unpaced", want: 400},
		{name: "limit", limit: 150, want: 150},
		// 200 readings at 1000/s: batches of 20 spread over ≥ 0.15 s.
		{name: "paced", rate: 1000, limit: 200, want: 200, minSpread: 150 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := &countingWriter{}
			cfg := replay.Config{Topic: "t", Rate: tc.rate, Limit: tc.limit}
			n, err := replay.Run(context.Background(), cfg, series, codec, w, zap.NewNop())
			if err != nil || n != tc.want || w.n != tc.want {
				t.Fatalf("sent %d (writer saw %d), err %v; want %d", n, w.n, err, tc.want)
			}
			if tc.minSpread > 0 {
				if d := w.calls[len(w.calls)-1].Sub(w.calls[0]); d < tc.minSpread {
					t.Fatalf("paced run took %v, want at least %v", d, tc.minSpread)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for name, cfg := range map[string]replay.Config{
		"nothing":  {Topic: "t", SyntheticLength: 1, SyntheticStep: time.Second, SyntheticStart: "2024-01-01T00:00:00Z"},
		"no topic": {Synthetic: 1, SyntheticLength: 1, SyntheticStep: time.Second, SyntheticStart: "2024-01-01T00:00:00Z"},
		"bad rate": {Topic: "t", Synthetic: 1, SyntheticLength: 1, SyntheticStep: time.Second, SyntheticStart: "2024-01-01T00:00:00Z", Rate: -1},
	} {
		if err := cfg.Validate(); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

// TestReplayNABToKafka publishes a NAB file to a real topic and reads it back.
func TestReplayNABToKafka(t *testing.T) {
	topic := kafkatest.Topic(t, "sensors", 2)
	codec, err := avrocodec.New(avrocodec.DefaultConfig(), nil, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer codec.Close()
	cfg := replay.Config{Topic: topic, Files: []string{"../../testdata/nab/data/realKnownCause/rogue_agent_key_hold.csv"},
		SyntheticLength: 1, SyntheticStep: time.Minute, SyntheticStart: "2024-01-01T00:00:00Z"}
	series, err := cfg.Load()
	if err != nil {
		t.Fatal(err)
	}
	n, err := replay.Run(context.Background(), cfg, series, codec, kafkatest.Writer(t), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	msgs := kafkatest.ReadAll(t, topic)
	if n != len(series[0].Values) || len(msgs) != n {
		t.Fatalf("sent %d, read %d, file has %d", n, len(msgs), len(series[0].Values))
	}
	var prev *record.Reading
	for i, m := range msgs {
		r, err := codec.DecodeReading(context.Background(), m.Value)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if r.SeriesID != "rogue_agent_key_hold.csv" || string(m.Key) != r.SeriesID {
			t.Fatalf("message %d: series %q key %q", i, r.SeriesID, m.Key)
		}
		if r.Value != series[0].Values[i] || !r.Time.Equal(series[0].Times[i]) {
			t.Fatalf("message %d: %v at %v, want %v at %v", i, r.Value, r.Time, series[0].Values[i], series[0].Times[i])
		}
		if prev != nil && !strings.EqualFold(prev.SeriesID, r.SeriesID) {
			t.Fatal("one series went to two partitions")
		}
		prev = &r
	}
}

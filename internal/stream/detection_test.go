package stream_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/vigil-stream/vigil/internal/avrocodec"
	"github.com/vigil-stream/vigil/internal/detect"
	"github.com/vigil-stream/vigil/internal/kafkatest"
	"github.com/vigil-stream/vigil/internal/modelstore"
	"github.com/vigil-stream/vigil/internal/modeltest"
	"github.com/vigil-stream/vigil/internal/record"
	"github.com/vigil-stream/vigil/internal/replay"
	"github.com/vigil-stream/vigil/internal/stream"
)

var synthStart = modeltest.Start

// testModelDir returns the model store of the tests and their children.
func testModelDir(t *testing.T) string { return modeltest.StoreDir(t) }

func detectConfig() detect.Config {
	cfg := detect.DefaultConfig()
	cfg.Threshold.WarmUp = 70
	return cfg
}

// newDetection builds the consumer's detection factory over a model store.
func newDetection(dir string, tp topics, logger *zap.Logger, reg prometheus.Registerer) (*stream.Detection, error) {
	return newDetectionWith(detectConfig(), dir, tp, logger, reg)
}

func newDetectionWith(cfg detect.Config, dir string, tp topics, logger *zap.Logger, reg prometheus.Registerer) (*stream.Detection, error) {
	codec, err := avrocodec.New(avrocodec.DefaultConfig(), nil, logger)
	if err != nil {
		return nil, err
	}
	store, err := modelstore.Open(modelstore.Config{Dir: dir, Keep: 3})
	if err != nil {
		return nil, err
	}
	w := modelstore.NewWatcher(store, time.Hour, logger, reg)
	if err := w.Poll(); err != nil {
		return nil, err
	}
	router, err := detect.NewRouter(detect.Routing{Default: "default"}, w.Snapshot)
	if err != nil {
		return nil, err
	}
	return stream.NewDetection(cfg, codec, router,
		stream.DetectionTopics{Events: tp.Out, Scores: tp.Scores, DLQ: tp.DLQ}, logger, reg)
}

func detectTopics(t *testing.T, partitions int) topics {
	tp := newTopics(t, partitions)
	tp.Scores = kafkatest.Topic(t, "scores", partitions)
	return tp
}

// produceSynthetic writes n series of length readings, interleaved by time,
// keyed by series, with small record batches.
func produceSynthetic(t *testing.T, topic string, n, length int) int {
	t.Helper()
	codec, err := avrocodec.New(avrocodec.DefaultConfig(), nil, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer codec.Close()
	w := kafkatest.Writer(t)
	w.BatchSize = 200
	series := replay.Synthetic(n, length, synthStart, time.Minute, 7)
	sent, err := replay.Run(context.Background(), replay.Config{Topic: topic}, series, codec, w, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	return sent
}

// runInProcess runs a detection consumer until the group has committed
// everything, then stops it with a clean shutdown.
func runInProcess(t *testing.T, tp topics, group string) {
	t.Helper()
	runInProcessWith(t, detectConfig(), tp, group)
}

func runInProcessWith(t *testing.T, dcfg detect.Config, tp topics, group string) {
	t.Helper()
	logger := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	reg := prometheus.NewRegistry()
	d, err := newDetectionWith(dcfg, testModelDir(t), tp, logger, reg)
	if err != nil {
		t.Fatal(err)
	}
	cfg, conn := testConfig(tp, group)
	c, err := stream.New(cfg, conn, d, logger, reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	kafkatest.WaitCommitted(t, group, tp.In, 5*time.Minute)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// decision is what a score record says about one reading.
type decision struct {
	series    string
	flagged   bool
	warm      bool
	score, es float64
	threshold float64
}

type inputKey struct {
	partition int32
	offset    int64
}

// collect reads a run's score and event topics: one decision per input
// record (duplicates from replays must agree exactly) and the set of event
// ids.
func collect(t *testing.T, tp topics) (map[inputKey]decision, map[string]record.Event, int) {
	t.Helper()
	codec, err := avrocodec.New(avrocodec.DefaultConfig(), nil, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer codec.Close()
	ctx := context.Background()
	decisions := map[inputKey]decision{}
	dups := 0
	for _, m := range kafkatest.ReadAll(t, tp.Scores) {
		s, err := codec.DecodeScore(ctx, m.Value)
		if err != nil {
			t.Fatalf("score record: %v", err)
		}
		k := inputKey{s.Provenance.Partition, s.Provenance.Offset}
		d := decision{series: s.SeriesID, flagged: s.Anomalous, warm: s.WarmUp, score: s.Score, es: s.SmoothedError, threshold: s.Threshold}
		if old, ok := decisions[k]; ok {
			dups++
			if old != d {
				t.Fatalf("input %v scored twice differently: %+v then %+v", k, old, d)
			}
		}
		decisions[k] = d
	}
	events := map[string]record.Event{}
	for _, m := range kafkatest.ReadAll(t, tp.Out) {
		e, err := codec.DecodeEvent(ctx, m.Value)
		if err != nil {
			t.Fatalf("event: %v", err)
		}
		events[e.ID] = e
	}
	return decisions, events, dups
}

// compareRuns requires two runs over the same input to have decided every
// reading alike (flag exactly, score within 1e-6) and published the same set
// of event ids.
func compareRuns(t *testing.T, want, got topics, inputs int) {
	t.Helper()
	wd, we, _ := collect(t, want)
	gd, ge, dups := collect(t, got)
	if len(wd) != inputs {
		t.Fatalf("the reference run scored %d of %d readings", len(wd), inputs)
	}
	if len(gd) != len(wd) {
		t.Fatalf("scored %d readings, the reference run %d", len(gd), len(wd))
	}
	flagged := 0
	for k, w := range wd {
		g, ok := gd[k]
		if !ok {
			t.Fatalf("input %v was never scored", k)
		}
		if g.flagged != w.flagged || g.warm != w.warm || g.series != w.series ||
			math.Abs(g.score-w.score) > 1e-6 || math.Abs(g.es-w.es) > 1e-6 {
			t.Fatalf("input %v: %+v, reference %+v", k, g, w)
		}
		if w.flagged {
			flagged++
		}
	}
	if len(we) != len(ge) {
		t.Errorf("%d distinct event ids, reference %d", len(ge), len(we))
	}
	for id := range we {
		if _, ok := ge[id]; !ok {
			t.Errorf("event %s of the reference run missing", id)
		}
	}
	if len(we) == 0 || flagged == 0 {
		t.Errorf("the input raised no anomaly (%d flagged, %d events): the comparison proves little", flagged, len(we))
	}
	t.Logf("%d readings decided alike (%d flagged, %d duplicate score records from replays), %d identical event ids",
		len(wd), flagged, dups, len(we))
}

// sameInput gives a second run its own outputs over the first run's input.
func sameInput(t *testing.T, tp topics) topics {
	o := detectTopics(t, tp.Partitions)
	o.In = tp.In
	return o
}

func seriesCount(t *testing.T) (series, length int) {
	if testing.Short() {
		return 100, 100
	}
	return 1000, 200
}

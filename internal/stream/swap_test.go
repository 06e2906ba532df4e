package stream_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/vigil-stream/vigil/internal/avrocodec"
	"github.com/vigil-stream/vigil/internal/detect"
	"github.com/vigil-stream/vigil/internal/kafkatest"
	"github.com/vigil-stream/vigil/internal/model"
	"github.com/vigil-stream/vigil/internal/modelstore"
	"github.com/vigil-stream/vigil/internal/modeltest"
	"github.com/vigil-stream/vigil/internal/replay"
	"github.com/vigil-stream/vigil/internal/stream"
)

// TestHotSwap publishes a new model version while the consumer runs: the
// readings after it are scored by the new version, each series with a
// prediction from its first reading on (re-primed from retained readings,
// no blind period), and nothing is dead-lettered or left unscored.
func TestHotSwap(t *testing.T) {
	tp := detectTopics(t, 2)
	logger := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	reg := prometheus.NewRegistry()
	store, err := modelstore.Open(modelstore.Config{Dir: t.TempDir(), Keep: 3})
	if err != nil {
		t.Fatal(err)
	}
	v1 := *modeltest.Model(t)
	if _, err := store.Publish(&v1); err != nil {
		t.Fatal(err)
	}
	watcher := modelstore.NewWatcher(store, 50*time.Millisecond, logger, reg)
	if err := watcher.Poll(); err != nil {
		t.Fatal(err)
	}
	router, err := detect.NewRouter(detect.Routing{Default: "default"}, watcher.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	codec, err := avrocodec.New(avrocodec.DefaultConfig(), nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer codec.Close()
	d, err := stream.NewDetection(detectConfig(), codec, router, stream.DetectionTopics{Events: tp.Out, Scores: tp.Scores, DLQ: tp.DLQ}, logger, reg)
	if err != nil {
		t.Fatal(err)
	}
	group := kafkatest.Name(t, "group")
	cfg, conn := testConfig(tp, group)
	c, err := stream.New(cfg, conn, d, logger, reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- c.Run(ctx) }()
	go func() { done <- watcher.Run(ctx) }()

	const nSeries, length = 20, 200
	series := replay.Synthetic(nSeries, length, synthStart, time.Minute, 4)
	half := func(lo, hi int) {
		var part []model.Series
		for _, s := range series {
			s.Times, s.Values = s.Times[lo:hi], s.Values[lo:hi]
			part = append(part, s)
		}
		w := kafkatest.Writer(t)
		if _, err := replay.Run(context.Background(), replay.Config{Topic: tp.In}, part, codec, w, zap.NewNop()); err != nil {
			t.Fatal(err)
		}
	}
	half(0, length/2)
	kafkatest.WaitCommitted(t, group, tp.In, time.Minute)
	before := kafkatest.EndOffsets(t, tp.In)

	v2 := v1
	v2.Version = 2
	if _, err := store.Publish(&v2); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for watcher.Snapshot()["default"].Version != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the watcher did not swap in v2")
		}
		time.Sleep(20 * time.Millisecond)
	}
	half(length/2, length)
	kafkatest.WaitCommitted(t, group, tp.In, time.Minute)
	cancel()
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}

	scores := kafkatest.ReadAll(t, tp.Scores)
	if len(scores) != nSeries*length {
		t.Fatalf("%d score records for %d readings", len(scores), nSeries*length)
	}
	firstAfter := map[string]bool{}
	v2count := 0
	for _, m := range scores {
		s, err := codec.DecodeScore(context.Background(), m.Value)
		if err != nil {
			t.Fatal(err)
		}
		late := s.Time.Sub(synthStart) >= time.Duration(length/2)*time.Minute
		switch {
		case !late && s.ModelVersion != "1":
			t.Fatalf("reading before the swap scored by v%s", s.ModelVersion)
		case late && s.ModelVersion != "2":
			t.Fatalf("reading after the swap scored by v%s", s.ModelVersion)
		case late:
			v2count++
			if !firstAfter[s.SeriesID] {
				firstAfter[s.SeriesID] = true
				if s.Predicted == s.Value {
					t.Errorf("series %s: no prediction for its first reading after the swap", s.SeriesID)
				}
			}
		}
	}
	if v2count != nSeries*length/2 || int64(nSeries*length/2) != before {
		t.Fatalf("%d readings scored by v2, want %d", v2count, nSeries*length/2)
	}
	if n := kafkatest.EndOffsets(t, tp.DLQ); n != 0 {
		t.Fatalf("%d dead letters", n)
	}
}

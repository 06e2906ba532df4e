package trainer_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/vigil-stream/vigil/internal/avrocodec"
	"github.com/vigil-stream/vigil/internal/config"
	"github.com/vigil-stream/vigil/internal/detect"
	"github.com/vigil-stream/vigil/internal/kafkaconn"
	"github.com/vigil-stream/vigil/internal/kafkatest"
	"github.com/vigil-stream/vigil/internal/model"
	"github.com/vigil-stream/vigil/internal/modelstore"
	"github.com/vigil-stream/vigil/internal/replay"
	"github.com/vigil-stream/vigil/internal/stream"
	"github.com/vigil-stream/vigil/internal/trainer"
)

// TestNightlyFlow is the nightly cycle against a real broker: a consumer
// scores seeded normal data with injected anomalies and publishes their
// episodes; the trainer replays the topic, leaves those episodes out,
// trains and promotes a model; the running consumer swaps it in and scores
// the next readings with it.
func TestNightlyFlow(t *testing.T) {
	ctx := context.Background()
	in := kafkatest.Topic(t, "sensors", 2)
	events := kafkatest.Topic(t, "anomalies", 2)
	scores := kafkatest.Topic(t, "scores", 2)
	dlq := kafkatest.Topic(t, "dlq", 1)
	changelog := kafkatest.Topic(t, "state", 2, kafkatest.WithConfig("cleanup.policy", "compact"))
	logger := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	codec, err := avrocodec.New(avrocodec.DefaultConfig(), nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer codec.Close()

	// The model in service: a weak one (two units, one epoch). Its errors
	// are so large that its threshold never alarms, so on false alarms a
	// real challenger cannot beat it: the run is forced (the promotion
	// rule itself is tested in TestChampionChallenger).
	dir := t.TempDir()
	store, err := modelstore.Open(modelstore.Config{Dir: dir, Keep: 5})
	if err != nil {
		t.Fatal(err)
	}
	weak := model.DefaultTrainConfig()
	weak.Hidden, weak.Epochs = []int{2}, 1
	net, sc, rep, err := model.Train(ctx, weak, replay.Synthetic(2, 400, start.Add(-30*24*time.Hour), time.Minute, 77), zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	v1, err := model.FromTraining("default", 1, net, sc, rep, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Publish(v1); err != nil {
		t.Fatal(err)
	}

	// Normal data with two injected excursions in series 0 and 1.
	const length = 1600
	series := replay.Synthetic(3, length, start, time.Minute, 31)
	for _, a := range []struct{ s, at int }{{0, 900}, {1, 1200}} {
		for k := range 30 {
			series[a.s].Values[a.at+k] += 40
		}
	}
	w := kafkatest.Writer(t)
	produce := func(lo, hi int) {
		part := make([]model.Series, len(series))
		for i, s := range series {
			part[i] = model.Series{ID: s.ID, Times: s.Times[lo:hi], Values: s.Values[lo:hi]}
		}
		if _, err := replay.Run(ctx, replay.Config{Topic: in}, part, codec, w, zap.NewNop()); err != nil {
			t.Fatal(err)
		}
	}
	replayFrom := time.Now().Add(-time.Second)
	produce(0, length-100)

	// The consumer, with a watcher polling the store.
	reg := prometheus.NewRegistry()
	watcher := modelstore.NewWatcher(store, 50*time.Millisecond, logger, reg)
	if err := watcher.Poll(); err != nil {
		t.Fatal(err)
	}
	router, _ := detect.NewRouter(detect.Routing{Default: "default"}, watcher.Snapshot)
	dcfg := detect.DefaultConfig()
	dcfg.Threshold.WarmUp = 140
	det, err := stream.NewDetection(dcfg, codec, router, stream.DetectionTopics{Events: events, Scores: scores, DLQ: dlq}, logger, reg)
	if err != nil {
		t.Fatal(err)
	}
	var scfg stream.Config
	scfg.RegisterFlags(newFlagSet())
	group := kafkatest.Name(t, "group")
	scfg.Group, scfg.Topics, scfg.EventsTopic, scfg.ScoresTopic, scfg.DLQTopic, scfg.ChangelogTopic = group, config.StringList{in}, events, scores, dlq, changelog
	scfg.CheckpointInterval, scfg.SessionTimeout, scfg.HeartbeatInterval = 300*time.Millisecond, 2*time.Second, 500*time.Millisecond
	conn := kafkaconn.Config{Brokers: kafkatest.Brokers(t), ClientID: "test", DialTimeout: 5 * time.Second}
	consumer, err := stream.New(scfg, conn, det, logger, reg)
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 2)
	go func() { done <- consumer.Run(cctx) }()
	go func() { done <- watcher.Run(cctx) }()
	defer func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}()
	kafkatest.WaitCommitted(t, group, in, 2*time.Minute)
	if n := kafkatest.EndOffsets(t, events); n == 0 {
		t.Fatal("the consumer published no anomaly events: nothing for the trainer to exclude")
	}

	// The nightly run.
	cfg := smallConfig(t, dir)
	cfg.Topics, cfg.EventsTopic, cfg.DLQTopic, cfg.Margin = []string{in}, events, dlq, 10*time.Minute
	cfg.MinReadings = 500
	cfg.Force = true
	client := kafkatest.Client(t)
	data, err := trainer.LoadKafka(ctx, client, codec, cfg, replayFrom, time.Now().Add(time.Second), logger)
	if err != nil {
		t.Fatal(err)
	}
	if data.Dropped["anomaly episode"] == 0 {
		t.Fatalf("no reading excluded for an episode: %v", data.Dropped)
	}
	sum, err := trainer.Run(ctx, cfg, data, store, nil, logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Models) != 1 || (sum.Models[0].Decision != trainer.Promoted && sum.Models[0].Decision != trainer.Forced) || sum.Models[0].Version != 2 {
		t.Fatalf("nightly run: %+v", sum.Models)
	}
	t.Logf("excluded %v; %s", data.Dropped, sum.Models[0].Reason)

	// The running consumer picks up v2 and scores the next readings with it.
	deadline := time.Now().Add(10 * time.Second)
	for watcher.Snapshot()["default"].Version != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the consumer did not swap in v2")
		}
		time.Sleep(20 * time.Millisecond)
	}
	produce(length-100, length)
	kafkatest.WaitCommitted(t, group, in, time.Minute)
	var after, v2 int
	for _, msg := range kafkatest.ReadAll(t, scores) {
		s, err := codec.DecodeScore(ctx, msg.Value)
		if err != nil {
			t.Fatal(err)
		}
		if !s.Time.Before(start.Add((length - 100) * time.Minute)) {
			after++
			if s.ModelVersion == "2" {
				v2++
			}
		}
	}
	if after != 300 || v2 != after {
		t.Fatalf("%d readings after the swap, %d scored by v2; want 300 and all", after, v2)
	}
}

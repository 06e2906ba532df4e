package backtest_test

import (
	"context"
	"encoding/csv"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/vigil-stream/vigil/internal/avrocodec"
	"github.com/vigil-stream/vigil/internal/backtest"
	"github.com/vigil-stream/vigil/internal/config"
	"github.com/vigil-stream/vigil/internal/dataset"
	"github.com/vigil-stream/vigil/internal/detect"
	"github.com/vigil-stream/vigil/internal/kafkaconn"
	"github.com/vigil-stream/vigil/internal/kafkatest"
	"github.com/vigil-stream/vigil/internal/model"
	"github.com/vigil-stream/vigil/internal/modelstore"
	"github.com/vigil-stream/vigil/internal/nab"
	"github.com/vigil-stream/vigil/internal/replay"
	"github.com/vigil-stream/vigil/internal/stream"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, kafkatest.LeakOptions()...)
}

// TestConsumerAgreesWithBacktest replays a NAB file through a real broker
// into the consumer, scoring it with the model the backtest trains on the
// file's probationary part, and requires the consumer's flag for every
// row to equal the backtest's is_anomaly (a row the consumer dead-letters
// counts as not anomalous, as in the backtest).
func TestConsumerAgreesWithBacktest(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	const key = "realKnownCause/rogue_agent_key_hold.csv"
	corpus := t.TempDir()
	src := filepath.Join("../../testdata/nab/data", key)
	if err := os.MkdirAll(filepath.Join(corpus, "realKnownCause"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(corpus, key), b, 0o644); err != nil {
		t.Fatal(err)
	}

	// The backtest, with its defaults but fewer epochs to keep the test short.
	var cfg backtest.Config
	cfg.RegisterFlags(flag.NewFlagSet("", flag.ContinueOnError))
	cfg.Data, cfg.Out, cfg.Workers = corpus, t.TempDir(), 1
	cfg.Train.Epochs = 6
	ctx := context.Background()
	if _, err := backtest.Run(ctx, cfg, zap.NewNop()); err != nil {
		t.Fatal(err)
	}
	want := readFlags(t, filepath.Join(cfg.Out, key))

	// The same model: training is deterministic for a seed.
	series, err := dataset.ReadFile(filepath.Join(corpus, key), key)
	if err != nil {
		t.Fatal(err)
	}
	s := series[0]
	p := nab.Probation(len(s.Values))
	net, sc, rep, err := model.Train(ctx, cfg.Train, []model.Series{{ID: s.ID, Times: s.Times[:p], Values: s.Values[:p]}}, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.FromTraining("default", 1, net, sc, rep, "test")
	if err != nil {
		t.Fatal(err)
	}
	store, err := modelstore.Open(modelstore.Config{Dir: t.TempDir(), Keep: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Publish(m); err != nil {
		t.Fatal(err)
	}

	// The consumer, with the backtest's detection settings.
	in := kafkatest.Topic(t, "sensors", 1)
	events := kafkatest.Topic(t, "anomalies", 1)
	scores := kafkatest.Topic(t, "scores", 1)
	dlq := kafkatest.Topic(t, "dlq", 1)
	changelog := kafkatest.Topic(t, "state", 1, kafkatest.WithConfig("cleanup.policy", "compact"))
	logger := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	codec, err := avrocodec.New(avrocodec.DefaultConfig(), nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer codec.Close()
	w := kafkatest.Writer(t)
	w.BatchSize = 100 // several fetches, so batching differs from the backtest's
	if _, err := replay.Run(ctx, replay.Config{Topic: in}, series, codec, w, zap.NewNop()); err != nil {
		t.Fatal(err)
	}
	watcher := modelstore.NewWatcher(store, time.Hour, logger, nil)
	if err := watcher.Poll(); err != nil {
		t.Fatal(err)
	}
	router, _ := detect.NewRouter(detect.Routing{Default: "default"}, watcher.Snapshot)
	det, err := stream.NewDetection(cfg.Detect, codec, router, stream.DetectionTopics{Events: events, Scores: scores, DLQ: dlq}, logger, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	var scfg stream.Config
	scfg.RegisterFlags(flag.NewFlagSet("", flag.ContinueOnError))
	group := kafkatest.Name(t, "group")
	scfg.Group, scfg.Topics, scfg.EventsTopic, scfg.ScoresTopic, scfg.DLQTopic, scfg.ChangelogTopic = group, config.StringList{in}, events, scores, dlq, changelog
	scfg.FetchMaxBytes = 8 << 10
	scfg.SessionTimeout, scfg.HeartbeatInterval = 2*time.Second, 500*time.Millisecond
	c, err := stream.New(scfg, kafkaconn.Config{Brokers: brokers, ClientID: "test", DialTimeout: 5 * time.Second}, det, logger, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(cctx) }()
	kafkatest.WaitCommitted(t, group, in, 2*time.Minute)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	got := make([]bool, len(want))
	for _, msg := range kafkatest.ReadAll(t, scores) {
		sc, err := codec.DecodeScore(ctx, msg.Value)
		if err != nil {
			t.Fatal(err)
		}
		got[sc.Provenance.Offset] = sc.Anomalous
	}
	flagged := 0
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("row %d: consumer flagged %v, backtest is_anomaly %v", i, got[i], want[i])
		}
		if want[i] {
			flagged++
		}
	}
	if flagged == 0 {
		t.Fatal("no row flagged: the comparison proves little")
	}
	t.Logf("%d rows agree, %d flagged", len(want), flagged)
}

func readFlags(t *testing.T, path string) []bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]bool, len(rows)-1)
	for i, r := range rows[1:] {
		out[i] = r[4] == "1"
	}
	return out
}

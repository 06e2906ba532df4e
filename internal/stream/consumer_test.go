package stream_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/vigil-stream/vigil/internal/config"
	"github.com/vigil-stream/vigil/internal/kafkaconn"
	"github.com/vigil-stream/vigil/internal/kafkatest"
	"github.com/vigil-stream/vigil/internal/stream"
)

func TestMain(m *testing.M) {
	if runChild() {
		return
	}
	goleak.VerifyTestMain(m, kafkatest.LeakOptions()...)
}

// topics is one test's set of topics.
type topics struct {
	In, Out, Scores, DLQ, Changelog string
	Partitions                      int
}

func newTopics(t *testing.T, partitions int) topics {
	return topics{
		In:         kafkatest.Topic(t, "in", partitions),
		Out:        kafkatest.Topic(t, "out", partitions),
		DLQ:        kafkatest.Topic(t, "dlq", 1),
		Changelog:  kafkatest.Topic(t, "state", partitions, kafkatest.WithConfig("cleanup.policy", "compact")),
		Partitions: partitions,
	}
}

func testConfig(tp topics, group string) (stream.Config, kafkaconn.Config) {
	cfg := stream.Config{
		Group: group, Topics: config.StringList{tp.In}, EventsTopic: tp.Out, ScoresTopic: tp.Scores, DLQTopic: tp.DLQ,
		ChangelogTopic: tp.Changelog, StartFrom: "earliest", FetchMaxBytes: 4 << 10,
		FetchMaxWait: 100 * time.Millisecond, PublishBatchTimeout: time.Millisecond,
		CheckpointInterval: 200 * time.Millisecond, SessionTimeout: 2 * time.Second,
		HeartbeatInterval: 500 * time.Millisecond, RebalanceTimeout: 10 * time.Second,
		ShutdownTimeout: 10 * time.Second,
	}
	return cfg, kafkaconn.Config{Brokers: config.StringList(brokersFromEnv()), ClientID: "vigil-test", DialTimeout: 5 * time.Second}
}

// produceSums writes n records "s<k>=<i>" over the given number of series,
// keyed by series.
func produceSums(t *testing.T, topic string, series, n int) {
	w := kafkatest.Writer(t)
	w.BatchSize = 50 // small record batches, so that fetches are small too
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		s := fmt.Sprintf("s%d", i%series)
		msgs[i] = kafka.Message{Topic: topic, Key: []byte(s), Value: []byte(fmt.Sprintf("%s=%d", s, i))}
	}
	kafkatest.Produce(t, w, msgs...)
}

// checkSums reads every input and output record and checks that each input
// record has an output, that duplicate outputs are identical, and that the
// running count and sum of every output match the input.
func checkSums(t *testing.T, tp topics) (distinct, duplicates int) {
	t.Helper()
	type key struct {
		partition int
		offset    int64
	}
	want := map[key]string{}
	count := map[string]int64{}
	sum := map[string]int64{}
	for _, m := range kafkatest.ReadAll(t, tp.In) {
		s, v, _ := strings.Cut(string(m.Value), "=")
		n, _ := strconv.ParseInt(v, 10, 64)
		count[s]++
		sum[s] += n
		want[key{m.Partition, m.Offset}] = fmt.Sprintf("%s,%d,%d,%d", s, m.Offset, count[s], sum[s])
	}
	got := map[string]bool{}
	for _, m := range kafkatest.ReadAll(t, tp.Out) {
		if got[string(m.Value)] {
			duplicates++
		}
		got[string(m.Value)] = true
	}
	for k, w := range want {
		if !got[w] {
			t.Errorf("input %d/%d: output %q missing", k.partition, k.offset, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d distinct outputs for %d inputs: some outputs disagree with the input", len(got), len(want))
	}
	return len(got), duplicates
}

// waitOutputs waits until the output topic holds at least n records.
func waitOutputs(t *testing.T, topic string, n int64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for kafkatest.EndOffsets(t, topic) < n {
		if time.Now().After(deadline) {
			t.Fatalf("output topic has %d records after %v, want at least %d", kafkatest.EndOffsets(t, topic), timeout, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRestartResumesFromCheckpoint stops a consumer half way through and
// starts another in the same group: every input record gets its output,
// computed from state restored from the changelog.
func TestRestartResumesFromCheckpoint(t *testing.T) {
	tp := newTopics(t, 4)
	const n, series = 20000, 50
	produceSums(t, tp.In, series, n)
	group := kafkatest.Name(t, "group")

	run := func(until func()) {
		cfg, conn := testConfig(tp, group)
		c, err := stream.New(cfg, conn, sumFactory{out: tp.Out, delay: 2 * time.Millisecond}, zaptest.NewLogger(t), prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		until()
		stopped := time.Now()
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("run: %v", err)
		}
		if d := time.Since(stopped); d > cfg.ShutdownTimeout+5*time.Second {
			t.Errorf("shutdown took %v", d)
		}
	}
	run(func() { waitOutputs(t, tp.Out, n/4, 60*time.Second) })
	if got := kafkatest.EndOffsets(t, tp.Out); got >= n {
		t.Fatalf("the first run processed all %d records before it was stopped: the test proves nothing", got)
	}
	run(func() { kafkatest.WaitCommitted(t, group, tp.In, 60*time.Second) })
	distinct, dups := checkSums(t, tp)
	t.Logf("%d distinct outputs, %d duplicates after a restart", distinct, dups)
}

// TestCreateTopics lets the consumer create every missing topic.
func TestCreateTopics(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	tp := topics{In: kafkatest.Name(t, "in"), Out: kafkatest.Name(t, "out"), DLQ: kafkatest.Name(t, "dlq"),
		Scores: kafkatest.Name(t, "scores"), Changelog: kafkatest.Name(t, "state"), Partitions: 3}
	t.Cleanup(func() {
		for _, name := range []string{tp.In, tp.Out, tp.DLQ, tp.Scores, tp.Changelog} {
			_ = kafkatest.DeleteTopic(context.Background(), brokers, name)
		}
	})
	cfg, conn := testConfig(tp, kafkatest.Name(t, "group"))
	cfg.CreateTopics, cfg.CreatePartitions = true, 3
	c, err := stream.New(cfg, conn, sumFactory{out: tp.Out}, zaptest.NewLogger(t), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for c.Ready() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %v", c.Ready())
		}
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{tp.In, tp.Out, tp.DLQ, tp.Scores, tp.Changelog} {
		ends, err := kafkatest.PartitionEnds(context.Background(), brokers, name)
		if err != nil || len(ends) != 3 {
			t.Errorf("topic %s: %d partitions, %v", name, len(ends), err)
		}
	}
}

package kafkatest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/goleak"

	"github.com/vigil-stream/vigil/internal/kafkatest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, kafkatest.LeakOptions()...)
}

// kcat returns the path of Debian's kcat, an independent Kafka client
// (librdkafka), failing the test when it is missing: `make kafka-up`
// installs it.
func kcat(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatalf("kcat not found (make kafka-up installs it): %v", err)
	}
	return p
}

// TestKcatToKafkaGo produces with kcat and consumes with a kafka-go group
// reader, committing explicitly, then checks that the committed offsets are
// stored on the broker.
func TestKcatToKafkaGo(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t, "in", 3)
	const n = 300

	var in bytes.Buffer
	for i := range n {
		fmt.Fprintf(&in, "series-%d:reading %d\n", i%7, i)
	}
	cmd := exec.Command(kcat(t), "-b", brokers[0], "-t", topic, "-P", "-K:", "-z", "snappy", "-X", "acks=all")
	cmd.Stdin = &in
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat produce: %v\n%s", err, out)
	}

	group := kafkatest.Name(t, "group")
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:        brokers,
		GroupID:        group,
		Topic:          topic,
		StartOffset:    kafka.FirstOffset,
		MaxWait:        100 * time.Millisecond,
		CommitInterval: 0, // synchronous commits
	})
	defer r.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	got := make(map[string]string, n)
	perKey := map[string][]int{}
	for len(got) < n {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("fetch after %d messages: %v", len(got), err)
		}
		got[string(m.Value)] = string(m.Key)
		var i int
		if _, err := fmt.Sscanf(string(m.Value), "reading %d", &i); err != nil {
			t.Fatalf("unexpected value %q", m.Value)
		}
		perKey[string(m.Key)] = append(perKey[string(m.Key)], i)
		if err := r.CommitMessages(ctx, m); err != nil {
			t.Fatalf("commit: %v", err)
		}
	}
	for i := range n {
		v := fmt.Sprintf("reading %d", i)
		if k, ok := got[v]; !ok || k != fmt.Sprintf("series-%d", i%7) {
			t.Fatalf("message %q: key %q, present %v", v, k, ok)
		}
	}
	// kcat's default partitioner hashes the key, so one key's messages share
	// a partition and must arrive in the order they were produced.
	for k, is := range perKey {
		for j := 1; j < len(is); j++ {
			if is[j] <= is[j-1] {
				t.Fatalf("key %s out of order: %v", k, is)
			}
		}
	}

	// The group's committed offsets add up to everything produced.
	c := kafkatest.Client(t)
	res, err := c.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: {0, 1, 2}}})
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	var committed int64
	for _, p := range res.Topics[topic] {
		if p.Error != nil {
			t.Fatalf("offset fetch partition %d: %v", p.Partition, p.Error)
		}
		if p.CommittedOffset > 0 { // -1: nothing committed (a partition no key hashed to)
			committed += p.CommittedOffset
		}
	}
	if committed != n {
		t.Fatalf("committed offsets add up to %d, want %d", committed, n)
	}
}

// TestKafkaGoToKcat produces with a kafka-go writer (acks=all) and consumes
// with kcat, keys, values and headers included.
func TestKafkaGoToKcat(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.Topic(t, "out", 2)
	const n = 200

	w := &kafka.Writer{
		Addr:         kafka.TCP(brokers...),
		Topic:        topic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: 5 * time.Millisecond,
		Compression:  kafka.Lz4,
	}
	defer w.Close()
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = kafka.Message{
			Key:     []byte(fmt.Sprintf("k%d", i%5)),
			Value:   []byte(fmt.Sprintf("v%d", i)),
			Headers: []kafka.Header{{Key: "vigil-test", Value: []byte(fmt.Sprintf("h%d", i))}},
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		var werrs kafka.WriteErrors
		if errors.As(err, &werrs) {
			t.Fatalf("write: %d of %d failed: %v", werrs.Count(), n, err)
		}
		t.Fatalf("write: %v", err)
	}

	out, err := exec.CommandContext(ctx, kcat(t), "-b", brokers[0], "-t", topic, "-C", "-e", "-o", "beginning", "-q",
		"-f", "%k|%s|%h\n").CombinedOutput()
	if err != nil {
		t.Fatalf("kcat consume: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != n {
		t.Fatalf("kcat read %d messages, want %d:\n%s", len(lines), n, out)
	}
	seen := make(map[string]bool, n)
	for _, l := range lines {
		var i int
		parts := strings.Split(l, "|")
		if len(parts) != 3 {
			t.Fatalf("bad line %q", l)
		}
		if _, err := fmt.Sscanf(parts[1], "v%d", &i); err != nil {
			t.Fatalf("bad value in %q", l)
		}
		want := fmt.Sprintf("k%d|v%d|vigil-test=h%d", i%5, i, i)
		if l != want {
			t.Fatalf("got %q, want %q", l, want)
		}
		seen[parts[1]] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct messages, want %d", len(seen), n)
	}
}

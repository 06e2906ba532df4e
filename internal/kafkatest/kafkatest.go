package kafkatest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/goleak"
)

// EnvBrokers names the environment variable holding the broker list.
const EnvBrokers = "VIGIL_KAFKA_BROKERS"

// Brokers returns the brokers named by VIGIL_KAFKA_BROKERS after checking
// that the first one answers a metadata request. Under -short it skips the
// test; otherwise a missing variable or a dead broker fails it.
func Brokers(t testing.TB) []string {
	t.Helper()
	if testing.Short() {
		t.Skipf("skipped under -short: needs a Kafka broker (%s; `make kafka-up`)", EnvBrokers)
	}
	raw := strings.TrimSpace(os.Getenv(EnvBrokers))
	if raw == "" {
		t.Fatalf("%s is not set: start a broker with `make kafka-up` and export it, or run with -short to skip Kafka tests", EnvBrokers)
	}
	var brokers []string
	for _, b := range strings.Split(raw, ",") {
		if b = strings.TrimSpace(b); b != "" {
			brokers = append(brokers, b)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := client(brokers).Metadata(ctx, &kafka.MetadataRequest{}); err != nil {
		t.Fatalf("kafka broker %s does not answer metadata requests: %v", brokers[0], err)
	}
	return brokers
}

// transport is shared by the helpers' clients. Its metadata expires fast:
// kafka-go's default transport caches cluster metadata for 6 s and answers
// metadata requests from that cache, so a topic another client has just
// created would look unknown to the helpers.
var transport = &kafka.Transport{MetadataTTL: 50 * time.Millisecond}

func client(brokers []string) *kafka.Client {
	return &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second, Transport: transport}
}

// Client returns a kafka-go admin client for the test broker.
func Client(t testing.TB) *kafka.Client {
	t.Helper()
	return client(Brokers(t))
}

var unsafeChars = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// Name returns a topic or group name unique to this test and call:
// "vigil-test-<test name>-<purpose>-<random>", at most 200 characters.
func Name(t testing.TB, purpose string) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("random name: %v", err)
	}
	base := unsafeChars.ReplaceAllString(t.Name()+"-"+purpose, "_")
	if len(base) > 160 {
		base = base[:160]
	}
	return "vigil-test-" + base + "-" + hex.EncodeToString(b[:])
}

// TopicOption adjusts a topic created by Topic.
type TopicOption func(*kafka.TopicConfig)

// WithConfig sets a topic-level configuration entry such as
// cleanup.policy=compact.
func WithConfig(name, value string) TopicOption {
	return func(c *kafka.TopicConfig) {
		c.ConfigEntries = append(c.ConfigEntries, kafka.ConfigEntry{ConfigName: name, ConfigValue: value})
	}
}

// Topic creates a uniquely named topic with the given number of partitions on
// the test broker, waits until every partition has a leader, and deletes the
// topic when the test ends. It returns the topic's name.
func Topic(t testing.TB, purpose string, partitions int, opts ...TopicOption) string {
	t.Helper()
	brokers := Brokers(t)
	name := Name(t, purpose)
	if err := CreateTopic(context.Background(), brokers, name, partitions, opts...); err != nil {
		t.Fatalf("create topic: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := DeleteTopic(ctx, brokers, name); err != nil {
			t.Errorf("delete topic %s: %v", name, err)
		}
	})
	return name
}

// CreateTopic creates a topic (replication factor 1) and waits until every
// partition has a leader.
func CreateTopic(ctx context.Context, brokers []string, name string, partitions int, opts ...TopicOption) error {
	cfg := kafka.TopicConfig{Topic: name, NumPartitions: partitions, ReplicationFactor: 1}
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c := client(brokers)
	res, err := c.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{cfg}})
	if err != nil {
		return fmt.Errorf("create topic %s: %w", name, err)
	}
	if err := res.Errors[name]; err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
		return fmt.Errorf("create topic %s: %w", name, err)
	}
	for {
		md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{name}})
		if err == nil && len(md.Topics) == 1 && md.Topics[0].Error == nil && len(md.Topics[0].Partitions) == partitions &&
			leadersReady(md.Topics[0].Partitions) && offsetsReady(ctx, c, name, partitions) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("topic %s has no leaders: %w", name, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// offsetsReady reports whether every partition's leader answers offset
// requests: metadata can name a leader a moment before it serves.
func offsetsReady(ctx context.Context, c *kafka.Client, topic string, partitions int) bool {
	req := make([]kafka.OffsetRequest, partitions)
	for p := range req {
		req[p] = kafka.LastOffsetOf(p)
	}
	res, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: req}})
	if err != nil || len(res.Topics[topic]) != partitions {
		return false
	}
	for _, p := range res.Topics[topic] {
		if p.Error != nil {
			return false
		}
	}
	return true
}

func leadersReady(ps []kafka.Partition) bool {
	for _, p := range ps {
		if p.Error != nil || p.Leader.Host == "" {
			return false
		}
	}
	return true
}

// DeleteTopic deletes a topic; a topic that does not exist is not an error.
func DeleteTopic(ctx context.Context, brokers []string, name string) error {
	res, err := client(brokers).DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{name}})
	if err != nil {
		return err
	}
	if err := res.Errors[name]; err != nil && !errors.Is(err, kafka.UnknownTopicOrPartition) {
		return err
	}
	return nil
}

// LeakOptions are the goleak options for packages whose tests talk to
// Kafka: kafka-go keeps pooled connections whose goroutines end lazily.
func LeakOptions() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreTopFunction("github.com/segmentio/kafka-go.(*conn).run"),
		goleak.IgnoreAnyFunction("github.com/segmentio/kafka-go.(*connPool).discover"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	}
}

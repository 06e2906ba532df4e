package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// Writer returns a kafka-go writer for the test broker with safe settings:
// acks from all replicas, Murmur2 partitioning on the key (as Java clients),
// a 1 ms linger. Close it when done.
func Writer(t testing.TB) *kafka.Writer {
	t.Helper()
	w := &kafka.Writer{
		Addr:         kafka.TCP(Brokers(t)...),
		Transport:    transport,
		Balancer:     kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: time.Millisecond,
		BatchSize:    5000,
		BatchBytes:   16 << 20,
	}
	t.Cleanup(func() { _ = w.Close() })
	return w
}

// Produce writes msgs (each with its Topic set) and fails the test on error.
func Produce(t testing.TB, w *kafka.Writer, msgs ...kafka.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for len(msgs) > 0 {
		n := min(len(msgs), 5000)
		if err := w.WriteMessages(ctx, msgs[:n]...); err != nil {
			t.Fatalf("produce: %v", err)
		}
		msgs = msgs[n:]
	}
}

// EndOffsets returns the sum over all partitions of a topic's end offsets:
// the number of records ever written to it.
func EndOffsets(t testing.TB, topic string) int64 {
	t.Helper()
	ends, err := PartitionEnds(context.Background(), Brokers(t), topic)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, e := range ends {
		n += e
	}
	return n
}

// PartitionEnds returns the end offset of every partition of a topic.
func PartitionEnds(ctx context.Context, brokers []string, topic string) (map[int]int64, error) {
	c := client(brokers)
	md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, err
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil {
		return nil, fmt.Errorf("metadata of %s: %v", topic, md.Topics)
	}
	req := map[string][]kafka.OffsetRequest{}
	for _, p := range md.Topics[0].Partitions {
		req[topic] = append(req[topic], kafka.LastOffsetOf(p.ID))
	}
	res, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: req})
	if err != nil {
		return nil, err
	}
	out := map[int]int64{}
	for _, p := range res.Topics[topic] {
		if p.Error != nil {
			return nil, p.Error
		}
		out[p.Partition] = p.LastOffset
	}
	return out, nil
}

// ReadAll returns every record of every partition of a topic, up to the end
// offsets as of the call, in partition then offset order.
func ReadAll(t testing.TB, topic string) []kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	msgs, err := ReadTopic(ctx, Brokers(t), topic)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// ReadTopic returns every record of every partition of a topic, up to the
// end offsets as of the call, in partition then offset order.
func ReadTopic(ctx context.Context, brokers []string, topic string) ([]kafka.Message, error) {
	ends, err := PartitionEnds(ctx, brokers, topic)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", topic, err)
	}
	c := client(brokers)
	var out []kafka.Message
	for p := 0; p < len(ends); p++ {
		for off := int64(0); off < ends[p]; {
			resp, err := c.Fetch(ctx, &kafka.FetchRequest{Topic: topic, Partition: p, Offset: off, MinBytes: 1, MaxBytes: 32 << 20, MaxWait: time.Second})
			if err == nil {
				err = resp.Error
			}
			if err != nil {
				return nil, fmt.Errorf("fetch %s/%d at %d: %w", topic, p, off, err)
			}
			for {
				r, err := resp.Records.ReadRecord()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return nil, fmt.Errorf("read %s/%d: %w", topic, p, err)
				}
				if r.Offset < off || r.Offset >= ends[p] {
					continue
				}
				m := kafka.Message{Topic: topic, Partition: p, Offset: r.Offset, Time: r.Time, Headers: r.Headers}
				if r.Key != nil {
					m.Key, _ = io.ReadAll(r.Key)
				}
				if r.Value != nil {
					m.Value, _ = io.ReadAll(r.Value)
				}
				out = append(out, m)
				off = r.Offset + 1
			}
		}
	}
	return out, nil
}

// WaitCommitted waits until the group has committed, on every partition of
// topic, the partition's end offset: everything written so far has been
// processed.
func WaitCommitted(t testing.TB, group, topic string, timeout time.Duration) {
	t.Helper()
	brokers := Brokers(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ends, err := PartitionEnds(ctx, brokers, topic)
	if err != nil {
		t.Fatal(err)
	}
	parts := make([]int, 0, len(ends))
	for p := range ends {
		parts = append(parts, p)
	}
	c := client(brokers)
	var behind int64
	for {
		res, err := c.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
		if err == nil {
			behind = 0
			for _, p := range res.Topics[topic] {
				behind += ends[p.Partition] - max(p.CommittedOffset, 0)
			}
			if behind == 0 {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("group %s: %d records of %s still uncommitted after %v (last error: %v)", group, behind, topic, timeout, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

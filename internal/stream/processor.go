package stream

import (
	"time"

	"github.com/segmentio/kafka-go"
)

// Record is one input record, as fetched from a partition.
type Record struct {
	Topic     string
	Partition int
	Offset    int64
	// Time is the record's broker (or producer) timestamp.
	Time    time.Time
	Key     []byte
	Value   []byte
	Headers []kafka.Header
}

// Output collects the messages that processing a batch produces: events,
// scores and dead letters, each with its Topic and Key set. They are
// published, and acknowledged by the brokers, before the state that
// reflects them is checkpointed and before the offsets are committed.
type Output struct {
	Messages []kafka.Message
}

// Reset empties o, keeping its capacity.
func (o *Output) Reset() {
	clear(o.Messages)
	o.Messages = o.Messages[:0]
}

// Processor is the stateful part of one input partition: it turns records
// into output messages and keeps the state of the partition's series. The
// consumer calls it from one goroutine at a time; an implementation need
// not be safe for concurrent use.
//
// The consumer guarantees at-least-once processing: after a crash, records
// after the last committed offset are handed to a Processor restored from
// the last checkpoint, which may already reflect some of them (the state is
// checkpointed before the offsets are committed). A Processor must
// therefore remember, per series, the offset of the last record its state
// reflects, and skip records at or below it: that makes replays produce
// exactly the decisions and ids of the first run.
type Processor interface {
	// Restore installs the checkpointed state of one series; it is called
	// for every live series of the partition before the first Process.
	Restore(series string, state []byte) error
	// Process handles records of the partition in offset order, appending
	// what they produce to out. Bad records go to out as dead letters; a
	// returned error is fatal to the consumer.
	Process(recs []Record, out *Output) error
	// Checkpoint calls emit with the state of at most limit series changed
	// since their last checkpoint (limit ≤ 0: all of them), those changed
	// earliest first, in a deterministic order (state nil: the series was
	// dropped; the state slice may be reused after emit returns). It
	// returns the offset to commit once those states are durable: every
	// record below it is reflected in a checkpointed state or changed
	// none; -1 before any record. An error means a state could not be
	// encoded; it is fatal.
	Checkpoint(limit int, emit func(series string, state []byte)) (commit int64, err error)
	// Pending returns the number of series changed since their last
	// checkpoint.
	Pending() int
	// Close releases the processor when its partition is revoked or the
	// consumer stops.
	Close()
}

// ProcessorFactory makes the Processor of an assigned partition.
type ProcessorFactory interface {
	NewProcessor(topic string, partition int) (Processor, error)
}

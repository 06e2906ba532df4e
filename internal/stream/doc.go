// Package stream is the consumer's pipeline: Kafka in, stateful processing
// per partition, Kafka out.
//
// Data flow: a Consumer joins the consumer group (kafka-go's ConsumerGroup,
// so that it sees every assignment), restores the state of each assigned
// partition from the compacted changelog topic, then, per partition, one
// goroutine fetches records in offset order, one runs the partition's
// Processor over each fetched batch, and one publishes the outputs. The
// stages are joined by small bounded channels, so a slow broker slows
// fetching instead of growing memory.
//
// Delivery is at-least-once, in this order for every batch: outputs
// (events, scores, dead letters) are published and acknowledged by all
// in-sync replicas; at each checkpoint the state of the changed series is
// written to the changelog, co-partitioned with the input, and acknowledged;
// only then is the offset after the checkpointed records committed. The
// changelog key is "<input topic>\x00<series id>", so one changelog serves
// several input topics. Processors remember per series the offset their
// state reflects and skip records at or below it, which makes a replay
// after a crash publish the same decisions with the same ids.
//
// On shutdown (context cancelled) or when the generation ends (rebalance),
// fetching stops, fetched records are processed, outputs published, state
// checkpointed and offsets committed within Config.ShutdownTimeout.
package stream

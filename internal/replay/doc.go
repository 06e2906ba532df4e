// Package replay publishes sensor readings to Kafka: CSV files (NAB layout
// or with a series column) or synthetic series, encoded with avrocodec, at a
// chosen rate. It is the load generator of Vigil's benchmarks and demo, and
// a way for producers to test their topics and for ops to re-play history.
//
// Readings of all series are interleaved by event time, as live sensors
// would produce them, and keyed by series id so that a series stays on one
// partition.
package replay

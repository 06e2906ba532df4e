// Package kafkatest gives tests a real Apache Kafka broker to talk to.
//
// The broker is the one named by VIGIL_KAFKA_BROKERS (comma-separated
// host:port list); `make kafka-up` starts a local single-node KRaft broker
// and `make test` exports the variable. Each test gets its own uniquely
// named topics, deleted when the test ends, so tests can run in parallel
// against one broker and leave nothing behind.
//
// Tests that need Kafka are skipped only under `go test -short`. Without
// -short, a missing VIGIL_KAFKA_BROKERS or an unreachable broker fails the
// test: an integration test that silently skips proves nothing.
package kafkatest

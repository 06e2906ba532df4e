// Package kafkaconn holds how every Vigil binary connects to Kafka: the
// bootstrap brokers and client id, and builds the kafka-go dialer,
// transport, client and writer from them, so that the consumer group, the
// partition fetchers, the producers and the admin calls all share one set of
// connection settings.
package kafkaconn

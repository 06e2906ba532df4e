// Package kafkaconn holds how every Vigil binary connects to Kafka: the
// bootstrap brokers and client id, TLS (CA, client certificate, server
// name) and SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512), and builds the
// kafka-go dialer, transport, client and writer from them, so that the
// consumer group, the partition fetchers, the producers and the admin calls
// all share one set of connection settings.
//
// Connection failures are classified (ErrUnreachable, ErrTLS, ErrAuth,
// ErrProtocolMismatch, ErrTimeout) with a hint naming the setting to
// change, and Config.Check verifies the settings against the cluster at
// start-up. docs/security.md describes the settings and the errors.
package kafkaconn

package kafkaconn

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"

	"github.com/vigil-stream/vigil/internal/config"
)

// Config is the connection to a Kafka cluster.
type Config struct {
	// Brokers are the bootstrap brokers, host:port. Default 127.0.0.1:9092.
	Brokers config.StringList `yaml:"brokers"`
	// ClientID names this process to the brokers (quotas, logs). Default vigil.
	ClientID string `yaml:"client_id"`
	// DialTimeout bounds connecting to a broker, TLS handshake included.
	// Default 10s.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// TLS encrypts the connections. Default off.
	TLS TLSConfig `yaml:"tls"`
	// SASL authenticates this client. Default off.
	SASL SASLConfig `yaml:"sasl"`

	prefix string    // the flag prefix, for error messages; "kafka." when unset
	built  *security // what Validate built from TLS and SASL
}

// security is the TLS configuration and SASL mechanism built from a
// Config, or the error that prevented it.
type security struct {
	tls  *tls.Config
	sasl sasl.Mechanism
	err  error
}

// RegisterFlags registers the connection flags under prefix (e.g. "kafka."),
// TLS and SASL included. The SASL password has no flag: see
// SASLConfig.Password.
func (c *Config) RegisterFlags(f *flag.FlagSet, prefix string) {
	c.prefix = prefix
	c.Brokers = config.StringList{"127.0.0.1:9092"}
	f.Var(&c.Brokers, prefix+"brokers", "Kafka bootstrap brokers, comma-separated host:port.")
	f.StringVar(&c.ClientID, prefix+"client-id", "vigil", "Client id sent to the brokers.")
	f.DurationVar(&c.DialTimeout, prefix+"dial-timeout", 10*time.Second, "Timeout for connecting to a broker (TLS handshake included).")
	c.registerSecurityFlags(f, prefix)
}

// Validate checks the broker addresses and the TLS and SASL settings: the
// files they name are read (CA, client certificate and key, password), the
// mechanism must be known, and SASL needs a user and a password. It builds
// the TLS configuration and SASL mechanism that Dialer and Transport use,
// so call it after the flags and environment are applied.
func (c *Config) Validate() error {
	if len(c.Brokers) == 0 {
		return errors.New("kafka.brokers: at least one broker is required")
	}
	for _, b := range c.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return fmt.Errorf("kafka.brokers: %q is not host:port: %w", b, err)
		}
	}
	if c.DialTimeout <= 0 {
		return errors.New("kafka.dial-timeout must be positive")
	}
	tc, mech, err := c.buildSecurity()
	if err != nil {
		return err
	}
	c.built = &security{tls: tc, sasl: mech}
	return nil
}

// security returns what Validate built, or builds it now for a Config
// that was not validated (a build error then fails every connection). It
// does not store what it builds, so that Dialer and Transport stay safe to
// call concurrently.
func (c *Config) security() *security {
	if c.built != nil {
		return c.built
	}
	tc, mech, err := c.buildSecurity()
	return &security{tls: tc, sasl: mech, err: err}
}

// Dialer returns the dialer for connections made by the consumer group,
// with the TLS and SASL settings.
func (c *Config) Dialer() *kafka.Dialer {
	s := c.security()
	return &kafka.Dialer{ClientID: c.ClientID, Timeout: c.DialTimeout, DialFunc: c.dialFunc(s), SASLMechanism: s.sasl}
}

// Transport returns a transport for clients and writers, with the TLS and
// SASL settings.
func (c *Config) Transport() *kafka.Transport {
	s := c.security()
	return &kafka.Transport{ClientID: c.ClientID, DialTimeout: c.DialTimeout, MetadataTTL: 30 * time.Second, Dial: c.dialFunc(s), SASL: s.sasl}
}

// Client returns an admin and data-plane client with the given request
// timeout.
func (c *Config) Client(t *kafka.Transport, timeout time.Duration) *kafka.Client {
	return &kafka.Client{Addr: kafka.TCP(c.Brokers...), Transport: t, Timeout: timeout}
}

// Writer returns a writer that is safe by default, which kafka-go's zero
// Writer is not: acks from all in-sync replicas (the zero value waits for
// none and silently drops messages on broker errors), a batch timeout of
// batchTimeout instead of kafka-go's 1 s (a lone event would otherwise wait
// a second), and the topic taken from each message. balancer picks the
// partition; nil means Murmur2 on the key, as Java clients do, so records
// of one key land where a Java producer would put them.
func (c *Config) Writer(t *kafka.Transport, balancer kafka.Balancer, batchTimeout time.Duration) *kafka.Writer {
	if balancer == nil {
		balancer = kafka.Murmur2Balancer{}
	}
	return &kafka.Writer{
		Addr:         kafka.TCP(c.Brokers...),
		Transport:    t,
		Balancer:     balancer,
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: batchTimeout,
		BatchSize:    10000,
		// Brokers reject a record batch above message.max.bytes (1 MiB by
		// default); kafka-go sizes batches before compression, so this
		// keeps every batch under the default limit.
		BatchBytes:             1 << 20,
		MaxAttempts:            10,
		WriteBackoffMin:        10 * time.Millisecond,
		WriteBackoffMax:        500 * time.Millisecond,
		Compression:            kafka.Lz4,
		AllowAutoTopicCreation: false,
	}
}

// ExplicitPartition is a Balancer that writes each message to the partition
// named in its Partition field (kafka-go ignores that field otherwise). It
// is how state is co-partitioned with the input it belongs to.
type ExplicitPartition struct{}

var _ kafka.Balancer = ExplicitPartition{}

// Balance returns msg.Partition. It panics if the partition does not exist:
// callers check partition counts at start-up.
func (ExplicitPartition) Balance(msg kafka.Message, partitions ...int) int {
	for _, p := range partitions {
		if p == msg.Partition {
			return p
		}
	}
	panic(fmt.Sprintf("kafkaconn: partition %d of %s does not exist (%d partitions)", msg.Partition, msg.Topic, len(partitions)))
}

// DefaultLinger is the producer batch timeout for writers without a
// configured one: long enough to batch a burst, short enough that a lone
// message is not held (kafka-go's default is 1 s).
const DefaultLinger = 5 * time.Millisecond

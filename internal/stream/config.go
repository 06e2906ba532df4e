package stream

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/vigil-stream/vigil/internal/config"
)

// Config is the Kafka side of the consumer: which group and topics, how it
// fetches, publishes, checkpoints and shuts down.
type Config struct {
	// Group is the consumer group id. Default vigil.
	Group string `yaml:"group"`
	// Topics are the input topics of sensor readings. Default sensors.
	Topics config.StringList `yaml:"topics"`
	// EventsTopic receives anomaly events. Default vigil.anomalies.
	EventsTopic string `yaml:"events_topic"`
	// ScoresTopic, when set, receives one score record per reading.
	// Default empty (off).
	ScoresTopic string `yaml:"scores_topic"`
	// DLQTopic receives every record that cannot be processed, unchanged,
	// with headers naming the reason. Default vigil.dlq.
	DLQTopic string `yaml:"dlq_topic"`
	// ChangelogTopic is the compacted topic of per-series state,
	// co-partitioned with the inputs: it needs at least as many partitions
	// as every input topic. Default vigil.state.
	ChangelogTopic string `yaml:"changelog_topic"`
	// CreateChangelog creates ChangelogTopic (compacted, as many partitions
	// as the largest input topic) when it does not exist. Default true.
	CreateChangelog bool `yaml:"create_changelog"`
	// CreateTopics creates every missing topic, inputs included, with
	// CreatePartitions partitions (the changelog with as many as the
	// largest input): for development and demos; in production topics
	// are usually provisioned. Default false.
	CreateTopics     bool `yaml:"create_topics"`
	CreatePartitions int  `yaml:"create_partitions"`

	// StartFrom is where a partition with no committed offset starts:
	// earliest or latest. Default earliest.
	StartFrom string `yaml:"start_from"`
	// FetchMaxBytes bounds one fetch per partition. Default 4 MiB.
	FetchMaxBytes int `yaml:"fetch_max_bytes"`
	// FetchMaxWait is how long the broker may hold a fetch when there is
	// no data. Default 250ms.
	FetchMaxWait time.Duration `yaml:"fetch_max_wait"`
	// PublishBatchTimeout is the producer's linger: kafka-go's default of
	// 1 s would hold a lone event for a second. Default 2ms.
	PublishBatchTimeout time.Duration `yaml:"publish_batch_timeout"`
	// CheckpointInterval is how often changed state is written to the
	// changelog and offsets are committed. Default 2s.
	CheckpointInterval time.Duration `yaml:"checkpoint_interval"`
	// SessionTimeout is the group session timeout: how long a dead member
	// keeps its partitions. Default 10s.
	SessionTimeout time.Duration `yaml:"session_timeout"`
	// HeartbeatInterval is the group heartbeat period. Default 1s.
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
	// RebalanceTimeout bounds how long members have to rejoin. Default 30s.
	RebalanceTimeout time.Duration `yaml:"rebalance_timeout"`
	// ShutdownTimeout bounds draining, publishing, checkpointing and
	// committing once shutdown or a rebalance starts. Default 20s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// RegisterFlags registers the stream flags with their defaults.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	c.Topics = config.StringList{"sensors"}
	f.StringVar(&c.Group, "stream.group", "vigil", "Consumer group id.")
	f.Var(&c.Topics, "stream.topics", "Input topics of sensor readings, comma-separated.")
	f.StringVar(&c.EventsTopic, "stream.events-topic", "vigil.anomalies", "Topic for anomaly events.")
	f.StringVar(&c.ScoresTopic, "stream.scores-topic", "", "Topic for one score record per reading; empty disables it.")
	f.StringVar(&c.DLQTopic, "stream.dlq-topic", "vigil.dlq", "Dead-letter topic for records that cannot be processed.")
	f.StringVar(&c.ChangelogTopic, "stream.changelog-topic", "vigil.state", "Compacted changelog topic of per-series state, co-partitioned with the inputs.")
	f.BoolVar(&c.CreateChangelog, "stream.create-changelog", true, "Create the changelog topic (compacted) when it does not exist.")
	f.BoolVar(&c.CreateTopics, "stream.create-topics", false, "Create every missing topic, inputs included (for development and demos).")
	f.IntVar(&c.CreatePartitions, "stream.create-partitions", 4, "Partitions of the topics -stream.create-topics creates.")
	f.StringVar(&c.StartFrom, "stream.start-from", "earliest", "Where partitions without a committed offset start: earliest or latest.")
	f.IntVar(&c.FetchMaxBytes, "stream.fetch-max-bytes", 4<<20, "Maximum bytes of one fetch per partition.")
	f.DurationVar(&c.FetchMaxWait, "stream.fetch-max-wait", 250*time.Millisecond, "Longest time the broker may hold a fetch when there is no data.")
	f.DurationVar(&c.PublishBatchTimeout, "stream.publish-batch-timeout", 2*time.Millisecond, "Producer linger before a batch is sent.")
	f.DurationVar(&c.CheckpointInterval, "stream.checkpoint-interval", 2*time.Second, "How often changed state is checkpointed and offsets committed.")
	f.DurationVar(&c.SessionTimeout, "stream.session-timeout", 10*time.Second, "Consumer group session timeout.")
	f.DurationVar(&c.HeartbeatInterval, "stream.heartbeat-interval", time.Second, "Consumer group heartbeat interval.")
	f.DurationVar(&c.RebalanceTimeout, "stream.rebalance-timeout", 30*time.Second, "Consumer group rebalance timeout.")
	f.DurationVar(&c.ShutdownTimeout, "stream.shutdown-timeout", 20*time.Second, "Bound on draining, checkpointing and committing at shutdown or rebalance.")
}

// Validate checks the stream settings.
func (c *Config) Validate() error {
	var errs []error
	if c.Group == "" {
		errs = append(errs, errors.New("stream.group is required"))
	}
	if len(c.Topics) == 0 {
		errs = append(errs, errors.New("stream.topics: at least one input topic is required"))
	}
	if c.EventsTopic == "" || c.DLQTopic == "" || c.ChangelogTopic == "" {
		errs = append(errs, errors.New("stream.events-topic, stream.dlq-topic and stream.changelog-topic are required"))
	}
	for _, t := range c.Topics {
		for _, o := range []string{c.EventsTopic, c.ScoresTopic, c.DLQTopic, c.ChangelogTopic} {
			if t == o {
				errs = append(errs, fmt.Errorf("stream.topics: %q is also an output topic", t))
			}
		}
	}
	if c.StartFrom != "earliest" && c.StartFrom != "latest" {
		errs = append(errs, fmt.Errorf("stream.start-from: %q is not earliest or latest", c.StartFrom))
	}
	if c.CreateTopics && c.CreatePartitions < 1 {
		errs = append(errs, errors.New("stream.create-partitions must be at least 1"))
	}
	if c.FetchMaxBytes < 1024 {
		errs = append(errs, errors.New("stream.fetch-max-bytes must be at least 1024"))
	}
	for name, d := range map[string]time.Duration{
		"stream.fetch-max-wait": c.FetchMaxWait, "stream.publish-batch-timeout": c.PublishBatchTimeout,
		"stream.checkpoint-interval": c.CheckpointInterval, "stream.session-timeout": c.SessionTimeout,
		"stream.heartbeat-interval": c.HeartbeatInterval, "stream.rebalance-timeout": c.RebalanceTimeout,
		"stream.shutdown-timeout": c.ShutdownTimeout,
	} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", name))
		}
	}
	if c.HeartbeatInterval >= c.SessionTimeout {
		errs = append(errs, errors.New("stream.heartbeat-interval must be shorter than stream.session-timeout"))
	}
	return errors.Join(errs...)
}

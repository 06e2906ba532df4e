package stream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/vigil-stream/vigil/internal/kafkaconn"
)

// Consumer joins the consumer group, restores the state of every assigned
// partition from the changelog, runs a Processor per partition and
// publishes what it produces, at least once:
//
//  1. records are fetched in offset order, per partition;
//  2. their outputs (events, scores, dead letters) are published and
//     acknowledged by all in-sync replicas;
//  3. every CheckpointInterval, the state of the series changed since the
//     last checkpoint is written to the changelog and acknowledged;
//  4. only then is the offset after the last checkpointed record committed.
//
// A crash at any point replays at most the records after the last commit,
// from a state at least as new as that commit; Processors skip what their
// state already reflects, so the replay publishes the same decisions and ids.
//
// Run may be called once. Ready is safe for concurrent use.
type Consumer struct {
	cfg     Config
	conn    kafkaconn.Config
	factory ProcessorFactory
	log     *zap.Logger
	m       *metrics

	transport *kafka.Transport
	client    *kafka.Client
	out       *kafka.Writer // events, scores, dead letters: Murmur2 on the key
	state     *kafka.Writer // changelog: explicit partition

	assigned atomic.Int64
	restored atomic.Int64
	joined   atomic.Bool
}

// New returns a Consumer. It does not connect: Run does.
func New(cfg Config, conn kafkaconn.Config, factory ProcessorFactory, logger *zap.Logger, reg prometheus.Registerer) (*Consumer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := conn.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	t := conn.Transport()
	return &Consumer{
		cfg:       cfg,
		conn:      conn,
		factory:   factory,
		log:       logger,
		m:         newMetrics(reg),
		transport: t,
		client:    conn.Client(t, 30*time.Second),
		out:       conn.Writer(t, nil, cfg.PublishBatchTimeout),
		state:     conn.Writer(t, kafkaconn.ExplicitPartition{}, cfg.PublishBatchTimeout),
	}, nil
}

// Ready reports nil once the consumer has joined its group and restored the
// state of every assigned partition, and otherwise an error saying how far
// the restore has come (for /readyz).
func (c *Consumer) Ready() error {
	if !c.joined.Load() {
		return errors.New("not yet a member of the consumer group")
	}
	a, r := c.assigned.Load(), c.restored.Load()
	if r < a {
		return fmt.Errorf("restoring state: %d of %d partitions restored", r, a)
	}
	return nil
}

// Run consumes until ctx is cancelled, then drains: records already fetched
// are processed, their outputs published, the state checkpointed and the
// offsets committed, all within ShutdownTimeout; then it leaves the group
// and returns nil. It returns an error when the topics are unusable or
// publishing fails for good (nothing is committed past what was published).
func (c *Consumer) Run(ctx context.Context) error {
	defer c.close()
	if err := c.checkTopics(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // shut down before starting
		}
		return err
	}
	start := kafka.FirstOffset
	if c.cfg.StartFrom == "latest" {
		start = kafka.LastOffset
	}
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                    c.cfg.Group,
		Brokers:               c.conn.Brokers,
		Dialer:                c.conn.Dialer(),
		Topics:                c.cfg.Topics,
		GroupBalancers:        []kafka.GroupBalancer{kafka.RangeGroupBalancer{}, kafka.RoundRobinGroupBalancer{}},
		HeartbeatInterval:     c.cfg.HeartbeatInterval,
		SessionTimeout:        c.cfg.SessionTimeout,
		RebalanceTimeout:      c.cfg.RebalanceTimeout,
		JoinGroupBackoff:      time.Second,
		WatchPartitionChanges: true,
		StartOffset:           start,
		Timeout:               10 * time.Second,
		ErrorLogger:           kafka.LoggerFunc(func(msg string, args ...any) { c.log.Warn(fmt.Sprintf(msg, args...)) }),
	})
	if err != nil {
		return fmt.Errorf("consumer group: %w", err)
	}
	// On shutdown, close the group while the generation drains: kafka-go
	// then waits for the drain and leaves the group, instead of rejoining.
	stop := make(chan struct{})
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		select {
		case <-ctx.Done():
		case <-stop:
		}
		_ = cg.Close()
	}()
	defer func() {
		close(stop)
		<-closed
	}()

	for {
		gen, err := cg.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, kafka.ErrGroupClosed) {
				return nil
			}
			c.log.Warn("joining the consumer group failed; retrying", zap.String("group", c.cfg.Group), zap.Error(err))
			continue
		}
		c.m.generations.Inc()
		errc := make(chan error, 1)
		gen.Start(func(gctx context.Context) { errc <- c.runGeneration(ctx, gctx, gen) })
		if err := <-errc; err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

func (c *Consumer) close() {
	_ = c.out.Close()
	_ = c.state.Close()
	c.transport.CloseIdleConnections()
}

// runGeneration runs one worker per assigned partition until the
// generation ends or ctx is cancelled, then lets them drain.
func (c *Consumer) runGeneration(ctx, gctx context.Context, gen *kafka.Generation) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-gctx.Done():
			cancel()
		case <-runCtx.Done():
		}
	}()
	// drainCtx outlives runCtx by at most ShutdownTimeout.
	drainCtx, cancelDrain := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelDrain()
	go func() {
		select {
		case <-runCtx.Done():
		case <-drainCtx.Done():
			return
		}
		t := time.NewTimer(c.cfg.ShutdownTimeout)
		defer t.Stop()
		select {
		case <-t.C:
			cancelDrain()
		case <-drainCtx.Done():
		}
	}()

	var workers []*partitionWorker
	topics := make([]string, 0, len(gen.Assignments))
	for t := range gen.Assignments {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	var commitMu sync.Mutex
	commit := func(topic string, partition int, offset int64) error {
		commitMu.Lock()
		defer commitMu.Unlock()
		return gen.CommitOffsets(map[string]map[int]int64{topic: {partition: offset}})
	}
	for _, t := range topics {
		for _, pa := range gen.Assignments[t] {
			workers = append(workers, &partitionWorker{
				c: c, topic: t, partition: pa.ID, next: pa.Offset, commit: commit,
				log: c.log.With(zap.String("topic", t), zap.Int("partition", pa.ID)),
			})
		}
	}
	c.assigned.Store(int64(len(workers)))
	c.restored.Store(0)
	c.m.assigned.Set(float64(len(workers)))
	c.m.restored.Set(0)
	c.joined.Store(true)
	c.log.Info("joined consumer group generation", zap.Int32("generation", gen.ID),
		zap.String("member", gen.MemberID), zap.Int("partitions", len(workers)))

	g, gc := errgroup.WithContext(runCtx)
	for _, w := range workers {
		g.Go(func() error { return w.run(gc, drainCtx) })
	}
	err := g.Wait()
	for _, w := range workers {
		c.m.lag.DeleteLabelValues(w.topic, strconv.Itoa(w.partition))
	}
	c.joined.Store(false)
	return err
}

// checkTopics fails fast, with a clear error, when an input or output topic
// is missing or the changelog is not co-partitioned with the inputs; it
// creates the changelog, and with CreateTopics every missing topic, when
// allowed.
func (c *Consumer) checkTopics(ctx context.Context) error {
	outputs := []string{c.cfg.EventsTopic, c.cfg.DLQTopic}
	if c.cfg.ScoresTopic != "" {
		outputs = append(outputs, c.cfg.ScoresTopic)
	}
	want := append(slices.Clone([]string(c.cfg.Topics)), outputs...)
	want = append(want, c.cfg.ChangelogTopic)
	parts, err := c.partitionCounts(ctx, want)
	if err != nil {
		return err
	}
	if c.cfg.CreateTopics {
		for _, t := range append(slices.Clone([]string(c.cfg.Topics)), outputs...) {
			if parts[t] == 0 {
				if err := c.createTopic(ctx, t, c.cfg.CreatePartitions, false); err != nil {
					return err
				}
				parts[t] = c.cfg.CreatePartitions
			}
		}
	}
	maxIn := 0
	for _, t := range c.cfg.Topics {
		maxIn = max(maxIn, parts[t])
	}
	for _, t := range want {
		if parts[t] > 0 || (t == c.cfg.ChangelogTopic && (c.cfg.CreateChangelog || c.cfg.CreateTopics)) {
			continue
		}
		return fmt.Errorf("topic %q does not exist: create it (see docker-compose.yml for the topics Vigil uses, or -stream.create-topics)", t)
	}
	if parts[c.cfg.ChangelogTopic] == 0 {
		if err := c.createTopic(ctx, c.cfg.ChangelogTopic, maxIn, true); err != nil {
			return err
		}
		if parts, err = c.partitionCounts(ctx, []string{c.cfg.ChangelogTopic}); err != nil {
			return err
		}
	}
	if n := parts[c.cfg.ChangelogTopic]; n < maxIn {
		return fmt.Errorf("changelog topic %q has %d partitions, fewer than the %d of the input topics: state is co-partitioned with the input, so it needs at least as many", c.cfg.ChangelogTopic, n, maxIn)
	}
	return nil
}

// createTopic creates a topic with the brokers' replication factor.
func (c *Consumer) createTopic(ctx context.Context, name string, partitions int, compact bool) error {
	tc := kafka.TopicConfig{Topic: name, NumPartitions: partitions, ReplicationFactor: -1}
	if compact {
		tc.ConfigEntries = []kafka.ConfigEntry{{ConfigName: "cleanup.policy", ConfigValue: "compact"}}
	}
	res, err := c.client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{tc}})
	if err == nil {
		err = res.Errors[name]
	}
	if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
		return fmt.Errorf("create topic %q: %w", name, err)
	}
	c.log.Info("created a topic", zap.String("topic", name), zap.Int("partitions", partitions), zap.Bool("compacted", compact))
	// Wait until it answers metadata with leaders.
	_, err = c.partitionCounts(ctx, []string{name})
	return err
}

// partitionCounts returns the number of partitions of each existing topic.
func (c *Consumer) partitionCounts(ctx context.Context, topics []string) (map[string]int, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		md, err := c.client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
		if err == nil {
			out := make(map[string]int, len(topics))
			retry := false
			for _, t := range md.Topics {
				switch {
				case t.Error == nil:
					out[t.Name] = len(t.Partitions)
				case errors.Is(t.Error, kafka.UnknownTopicOrPartition):
				case errors.Is(t.Error, kafka.LeaderNotAvailable):
					retry = true
				default:
					return nil, fmt.Errorf("metadata of topic %q: %w", t.Name, t.Error)
				}
			}
			if !retry {
				return out, nil
			}
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = errors.New("leaders not available")
			}
			return nil, fmt.Errorf("read topic metadata from %v: %w", c.conn.Brokers, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

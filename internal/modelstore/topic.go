package modelstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/vigil-stream/vigil/internal/model"
)

// A model topic is the Kafka alternative to a shared directory: a compacted
// topic (vigil.models by default) keyed by model name whose last record per
// key is the artifact in service. The trainer publishes to it after the
// directory store; consumers that cannot share a volume follow it with a
// TopicWatcher. Rolling back republishes the older artifact.

// Writer publishes messages; *kafka.Writer implements it.
type Writer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// PublishTopic writes m's artifact to the model topic, keyed by its name.
// The brokers must accept a record of the artifact's size (topic config
// max.message.bytes; a 2×64 model is about 0.2 MB).
func PublishTopic(ctx context.Context, w Writer, topic string, m *model.Model) error {
	var buf bytes.Buffer
	if err := model.Save(&buf, m); err != nil {
		return fmt.Errorf("publish %s to %s: %w", m, topic, err)
	}
	if err := w.WriteMessages(ctx, kafka.Message{Topic: topic, Key: []byte(m.Name), Value: buf.Bytes()}); err != nil {
		return fmt.Errorf("publish %s to %s: %w", m, topic, err)
	}
	return nil
}

// TopicWatcher follows a model topic from its beginning and keeps, per
// model name, the last artifact that loads; a record that does not load is
// logged and counted, and the model in service keeps serving. Snapshot is
// safe for concurrent use and never blocks; Run must be called once.
type TopicWatcher struct {
	client *kafka.Client
	topic  string
	log    *zap.Logger
	cur    atomic.Pointer[map[string]*model.Model]
	next   map[int]int64 // partition → next offset
	ready  atomic.Bool

	modelMetrics
}

// NewTopicWatcher returns a watcher of topic. Call CatchUp before serving
// to load what the topic holds.
func NewTopicWatcher(client *kafka.Client, topic string, logger *zap.Logger, reg prometheus.Registerer) *TopicWatcher {
	w := &TopicWatcher{client: client, topic: topic, log: logger, next: map[int]int64{}, modelMetrics: newModelMetrics(reg)}
	empty := map[string]*model.Model{}
	w.cur.Store(&empty)
	return w
}

// Snapshot returns the models in service by name; the map must not be
// modified.
func (w *TopicWatcher) Snapshot() map[string]*model.Model { return *w.cur.Load() }

// CatchUp reads the topic up to its end as of the call and installs what
// it holds.
func (w *TopicWatcher) CatchUp(ctx context.Context) error {
	md, err := w.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{w.topic}})
	if err != nil {
		return fmt.Errorf("model topic %s: %w", w.topic, err)
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil {
		if len(md.Topics) == 1 && errors.Is(md.Topics[0].Error, kafka.UnknownTopicOrPartition) {
			return fmt.Errorf("model topic %q does not exist", w.topic)
		}
		return fmt.Errorf("model topic %s: %v", w.topic, md.Topics)
	}
	for _, p := range md.Topics[0].Partitions {
		if err := w.readPartition(ctx, p.ID); err != nil {
			return err
		}
	}
	w.ready.Store(true)
	return nil
}

func (w *TopicWatcher) readPartition(ctx context.Context, p int) error {
	res, err := w.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{w.topic: {kafka.LastOffsetOf(p)}}})
	if err != nil {
		return fmt.Errorf("model topic %s/%d: %w", w.topic, p, err)
	}
	end := res.Topics[w.topic][0].LastOffset
	off := w.next[p]
	for off < end {
		resp, err := w.client.Fetch(ctx, &kafka.FetchRequest{Topic: w.topic, Partition: p, Offset: off, MinBytes: 1, MaxBytes: 64 << 20, MaxWait: 500 * time.Millisecond})
		if err == nil {
			err = resp.Error
		}
		if errors.Is(err, kafka.OffsetOutOfRange) {
			off = resp.LogStartOffset
			continue
		}
		if err != nil {
			return fmt.Errorf("model topic %s/%d at %d: %w", w.topic, p, off, err)
		}
		progressed := false
		for {
			r, err := resp.Records.ReadRecord()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("model topic %s/%d: %w", w.topic, p, err)
			}
			if r.Offset < off {
				continue
			}
			off, progressed = r.Offset+1, true
			var key, val []byte
			if r.Key != nil {
				key, _ = io.ReadAll(r.Key)
			}
			if r.Value != nil {
				val, _ = io.ReadAll(r.Value)
			}
			w.install(string(key), val, r.Offset)
		}
		if !progressed {
			off = max(off+1, resp.LogStartOffset)
		}
	}
	w.next[p] = off
	return nil
}

// install loads one record's artifact and puts it in service.
func (w *TopicWatcher) install(name string, artifact []byte, offset int64) {
	if len(artifact) == 0 {
		return // a tombstone: keep what serves
	}
	m, err := model.Load(bytes.NewReader(artifact))
	if err == nil && m.Name != name {
		err = fmt.Errorf("record keyed %q holds model %s", name, m)
	}
	if err != nil {
		w.failures.WithLabelValues(name).Inc()
		w.log.Error("model record rejected; the version in service keeps serving",
			zap.String("model", name), zap.Int64("offset", offset), zap.Error(err))
		return
	}
	old := w.Snapshot()
	if prev := old[name]; prev != nil {
		if prev.Version == m.Version {
			return
		}
		w.swaps.WithLabelValues(name).Inc()
		w.log.Info("model swapped in", zap.String("model", name), zap.Int64("from", prev.Version), zap.Int64("to", m.Version))
	} else {
		w.log.Info("model loaded", zap.String("model", name), zap.Int64("version", m.Version))
	}
	next := maps.Clone(old)
	next[name] = m
	w.cur.Store(&next)
	w.version.WithLabelValues(name).Set(float64(m.Version))
}

// Run follows the topic every interval until ctx ends. Errors are logged,
// not returned: the brokers may come back.
func (w *TopicWatcher) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := w.CatchUp(ctx); err != nil && ctx.Err() == nil {
				w.log.Warn("model topic poll failed", zap.Error(err))
			}
		}
	}
}

// Failures returns the load-failure counter, by model name.
func (w *TopicWatcher) Failures() *prometheus.CounterVec { return w.failures }

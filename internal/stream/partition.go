package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
)

// keySep separates the input topic from the series id in changelog keys:
// "<topic>\x00<series>". Topic names cannot contain it.
const keySep = 0

// changelogKey returns the changelog key of a series of an input topic.
func changelogKey(topic, series string) []byte {
	k := make([]byte, 0, len(topic)+1+len(series))
	k = append(k, topic...)
	k = append(k, keySep)
	return append(k, series...)
}

// partitionWorker runs one assigned input partition for one generation.
type partitionWorker struct {
	c         *Consumer
	topic     string
	partition int
	next      int64 // next offset to fetch; kafka.FirstOffset/LastOffset until resolved
	commit    func(topic string, partition int, offset int64) error
	log       *zap.Logger
	proc      Processor
}

// fetched is one fetch's records and when they arrived.
type fetched struct {
	recs []Record
	at   time.Time
}

// unit is what the publisher does for one processed batch, in order: publish
// msgs, then write state, then commit.
type unit struct {
	msgs     []kafka.Message
	state    []kafka.Message
	commit   int64 // offset to commit after state is written; -1 for none
	fetched  time.Time
	oldest   time.Time // earliest record timestamp in the batch
	hasState bool
}

// run restores the partition's state, then fetches, processes and publishes
// until ctx ends, then drains within drainCtx.
func (w *partitionWorker) run(ctx, drainCtx context.Context) error {
	proc, err := w.c.factory.NewProcessor(w.topic, w.partition)
	if err != nil {
		return fmt.Errorf("processor for %s/%d: %w", w.topic, w.partition, err)
	}
	w.proc = proc
	defer proc.Close()
	restoreStart := time.Now()
	n, err := w.restore(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // the generation ended while restoring; nothing processed
		}
		return fmt.Errorf("restore %s/%d: %w", w.topic, w.partition, err)
	}
	if err := w.resolveStart(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	w.c.restored.Add(1)
	w.c.m.restored.Inc()
	w.log.Info("partition restored", zap.Int("series", n), zap.Int64("offset", w.next),
		zap.Duration("took", time.Since(restoreStart)))

	batches := make(chan fetched, 2)
	units := make(chan unit, 8)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return w.fetch(gctx, batches) })
	g.Go(func() error { return w.process(drainCtx, batches, units) })
	g.Go(func() error { return w.publish(drainCtx, units) })
	return g.Wait()
}

// restore reads the changelog partition from its start to its end as of
// now, keeps the last record of each series of this topic, and hands those
// to the processor.
func (w *partitionWorker) restore(ctx context.Context) (int, error) {
	cl := w.c.cfg.ChangelogTopic
	first, last, err := w.offsets(ctx, cl, w.partition)
	if err != nil {
		return 0, err
	}
	prefix := changelogKey(w.topic, "")
	latest := map[string][]byte{}
	for off := first; off < last; {
		resp, err := w.c.client.Fetch(ctx, &kafka.FetchRequest{
			Topic: cl, Partition: w.partition, Offset: off, MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 500 * time.Millisecond,
		})
		if err == nil {
			err = resp.Error
		}
		if err != nil && transient(err) && ctx.Err() == nil {
			w.log.Warn("changelog fetch failed; retrying", zap.Error(err))
			time.Sleep(200 * time.Millisecond)
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("fetch changelog %s/%d at %d: %w", cl, w.partition, off, err)
		}
		progressed := false
		for {
			r, err := resp.Records.ReadRecord()
			if err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return 0, fmt.Errorf("read changelog %s/%d: %w", cl, w.partition, err)
			}
			if r.Offset < off || r.Offset >= last {
				continue
			}
			off = r.Offset + 1
			progressed = true
			w.c.m.restoreRecords.Inc()
			key, err := readBytes(r.Key)
			if err != nil {
				return 0, err
			}
			if !bytes.HasPrefix(key, prefix) {
				continue
			}
			val, err := readBytes(r.Value)
			if err != nil {
				return 0, err
			}
			latest[string(key[len(prefix):])] = val // nil value: tombstone
		}
		if !progressed && off < last {
			// Compaction can leave gaps; ask again from the next offset
			// the broker reports beyond this one.
			off = max(off, resp.LogStartOffset)
			if resp.HighWatermark <= off {
				break
			}
		}
	}
	series := make([]string, 0, len(latest))
	for s, v := range latest {
		if v != nil {
			series = append(series, s)
		}
	}
	slices.Sort(series)
	for _, s := range series {
		if err := w.proc.Restore(s, latest[s]); err != nil {
			return 0, fmt.Errorf("restore series %q: %w", s, err)
		}
	}
	return len(series), nil
}

// offsets returns the first and the end (next) offset of a partition,
// retrying for up to a minute while the partition has no leader (a topic
// just created, a leader election).
func (w *partitionWorker) offsets(ctx context.Context, topic string, partition int) (first, end int64, err error) {
	backoff := 50 * time.Millisecond
	deadline := time.Now().Add(time.Minute)
	for {
		first, end, err = w.listOffsets(ctx, topic, partition)
		if err == nil || !transient(err) || time.Now().After(deadline) {
			return first, end, err
		}
		select {
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// transient reports whether a Kafka error is worth retrying.
func transient(err error) bool {
	var ke kafka.Error
	return errors.As(err, &ke) && ke.Temporary()
}

func (w *partitionWorker) listOffsets(ctx context.Context, topic string, partition int) (first, end int64, err error) {
	res, err := w.c.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
		topic: {kafka.FirstOffsetOf(partition), kafka.LastOffsetOf(partition)},
	}})
	if err != nil {
		return 0, 0, fmt.Errorf("list offsets of %s/%d: %w", topic, partition, err)
	}
	for _, p := range res.Topics[topic] {
		if p.Partition != partition {
			continue
		}
		if p.Error != nil {
			return 0, 0, fmt.Errorf("list offsets of %s/%d: %w", topic, partition, p.Error)
		}
		return p.FirstOffset, p.LastOffset, nil
	}
	return 0, 0, fmt.Errorf("list offsets of %s/%d: partition missing from the answer", topic, partition)
}

// resolveStart turns the special start offsets into a real one.
func (w *partitionWorker) resolveStart(ctx context.Context) error {
	if w.next >= 0 {
		return nil
	}
	first, last, err := w.offsets(ctx, w.topic, w.partition)
	if err != nil {
		return err
	}
	if w.next == kafka.LastOffset {
		w.next = last
	} else {
		w.next = first
	}
	return nil
}

// fetch reads records in offset order and hands them on in batches. It
// closes out when ctx ends.
func (w *partitionWorker) fetch(ctx context.Context, out chan<- fetched) error {
	defer close(out)
	backoff := 50 * time.Millisecond
	lagLabel := []string{w.topic, strconv.Itoa(w.partition)}
	for ctx.Err() == nil {
		resp, err := w.c.client.Fetch(ctx, &kafka.FetchRequest{
			Topic: w.topic, Partition: w.partition, Offset: w.next,
			MinBytes: 1, MaxBytes: int64(w.c.cfg.FetchMaxBytes), MaxWait: w.c.cfg.FetchMaxWait,
		})
		if err == nil {
			err = resp.Error
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, kafka.OffsetOutOfRange) {
				first, _, lerr := w.offsets(ctx, w.topic, w.partition)
				if lerr == nil && w.next < first {
					w.log.Error("fetch offset is below the log start: records were deleted by retention before they were processed",
						zap.Int64("offset", w.next), zap.Int64("log_start", first), zap.Int64("lost", first-w.next))
					w.c.m.offsetResets.WithLabelValues(w.topic).Inc()
					w.next = first
					continue
				}
			}
			w.c.m.fetchErrors.WithLabelValues(fetchErrorKind(err)).Inc()
			w.log.Warn("fetch failed; retrying", zap.Int64("offset", w.next), zap.Error(err))
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		at := time.Now()
		var recs []Record
		for {
			r, err := resp.Records.ReadRecord()
			if err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return fmt.Errorf("read records of %s/%d: %w", w.topic, w.partition, err)
			}
			if r.Offset < w.next {
				continue // batches may start before the requested offset
			}
			key, err := readBytes(r.Key)
			if err != nil {
				return err
			}
			val, err := readBytes(r.Value)
			if err != nil {
				return err
			}
			recs = append(recs, Record{
				Topic: w.topic, Partition: w.partition, Offset: r.Offset, Time: r.Time,
				Key: key, Value: val, Headers: slices.Clone(r.Headers),
			})
			w.next = r.Offset + 1
		}
		w.c.m.lag.WithLabelValues(lagLabel...).Set(float64(max(0, resp.HighWatermark-w.next)))
		if len(recs) == 0 {
			continue
		}
		w.c.m.recordsIn.WithLabelValues(w.topic).Add(float64(len(recs)))
		select {
		case out <- fetched{recs: recs, at: at}:
		case <-ctx.Done():
			// Not yet processed: dropping them is safe, their offsets are
			// not committed.
			return nil
		}
	}
	return nil
}

func fetchErrorKind(err error) string {
	var ke kafka.Error
	if errors.As(err, &ke) {
		return ke.Title()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return "other"
}

// checkpointSteps is the number of ticks over which a checkpoint is
// spread: every CheckpointInterval/checkpointSteps the oldest changed
// series are written, so that no single pause encodes every series of the
// partition (10,000 series hold about 100 MB of state).
const checkpointSteps = 10

// process runs the processor over each batch, and checkpoints on a tick:
// each tick writes the series changed longest ago, enough that a series
// waits about CheckpointInterval; the commit advances as they are
// written. When the input ends, everything is checkpointed.
func (w *partitionWorker) process(drainCtx context.Context, in <-chan fetched, units chan<- unit) error {
	defer close(units)
	every := max(w.c.cfg.CheckpointInterval/checkpointSteps, time.Millisecond)
	tick := time.NewTicker(every)
	defer tick.Stop()
	var out Output
	lastCommit := int64(-1)

	send := func(u unit) error {
		select {
		case units <- u:
			return nil
		case <-drainCtx.Done():
			return fmt.Errorf("publish queue of %s/%d: %w", w.topic, w.partition, drainCtx.Err())
		}
	}
	// checkpoint adds up to limit series states (≤ 0: all) to u and says
	// whether u then has anything to write or commit.
	checkpoint := func(u *unit, limit int) (bool, error) {
		commit, err := w.proc.Checkpoint(limit, func(series string, state []byte) {
			u.state = append(u.state, kafka.Message{
				Topic: w.c.cfg.ChangelogTopic, Partition: w.partition,
				Key: changelogKey(w.topic, series), Value: bytes.Clone(state),
			})
		})
		if err != nil {
			return false, fmt.Errorf("checkpoint %s/%d: %w", w.topic, w.partition, err)
		}
		u.commit = -1
		if commit > lastCommit {
			u.commit, lastCommit = commit, commit
		}
		u.hasState = len(u.state) > 0 || u.commit >= 0
		return u.hasState, nil
	}
	for {
		select {
		case b, ok := <-in:
			if !ok {
				u := unit{}
				if more, err := checkpoint(&u, 0); err != nil || !more {
					return err
				}
				return send(u)
			}
			out.Reset()
			if err := w.proc.Process(b.recs, &out); err != nil {
				return fmt.Errorf("process %s/%d: %w", w.topic, w.partition, err)
			}
			if err := send(unit{msgs: slices.Clone(out.Messages), commit: -1, fetched: b.at, oldest: b.recs[0].Time}); err != nil {
				return err
			}
		case <-tick.C:
			// Enough series that each waits about CheckpointInterval.
			n := w.proc.Pending()
			limit := (n*int(every) + int(w.c.cfg.CheckpointInterval) - 1) / int(w.c.cfg.CheckpointInterval)
			u := unit{}
			more, err := checkpoint(&u, max(1, limit))
			if err != nil {
				return err
			}
			if more {
				if err := send(u); err != nil {
					return err
				}
			}
		}
	}
}

// publish writes each unit's messages, then its state, then commits.
func (w *partitionWorker) publish(drainCtx context.Context, units <-chan unit) error {
	for u := range units {
		if len(u.msgs) > 0 {
			if err := w.c.out.WriteMessages(drainCtx, u.msgs...); err != nil {
				return fmt.Errorf("publish %d messages for %s/%d: %w", len(u.msgs), w.topic, w.partition, err)
			}
			for _, m := range u.msgs {
				w.c.m.messagesOut.WithLabelValues(m.Topic).Inc()
			}
		}
		if !u.fetched.IsZero() {
			now := time.Now()
			w.c.m.processing.Observe(now.Sub(u.fetched).Seconds())
			if !u.oldest.IsZero() {
				w.c.m.endToEnd.Observe(now.Sub(u.oldest).Seconds())
			}
		}
		if !u.hasState {
			continue
		}
		if len(u.state) > 0 {
			start := time.Now()
			if err := w.c.state.WriteMessages(drainCtx, u.state...); err != nil {
				return fmt.Errorf("checkpoint %d series of %s/%d: %w", len(u.state), w.topic, w.partition, err)
			}
			w.c.m.checkpointTime.Observe(time.Since(start).Seconds())
			w.c.m.checkpointRecs.Add(float64(len(u.state)))
			for _, m := range u.state {
				w.c.m.checkpointBytes.Add(float64(len(m.Key) + len(m.Value)))
			}
		}
		if err := w.commit(w.topic, w.partition, u.commit); err != nil {
			// The state is in the changelog, so a replay from the older
			// commit is skipped record by record: no harm beyond the work.
			w.c.m.commits.WithLabelValues("failed").Inc()
			w.log.Warn("offset commit failed", zap.Int64("offset", u.commit), zap.Error(err))
			continue
		}
		w.c.m.commits.WithLabelValues("ok").Inc()
	}
	return nil
}

// readBytes copies a record's key or value; nil stays nil.
func readBytes(b kafka.Bytes) ([]byte, error) {
	if b == nil {
		return nil, nil
	}
	v, err := io.ReadAll(b)
	if err != nil {
		return nil, fmt.Errorf("read record bytes: %w", err)
	}
	return v, nil
}

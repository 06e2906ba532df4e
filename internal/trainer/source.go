package trainer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/vigil-stream/vigil/internal/dataset"
	"github.com/vigil-stream/vigil/internal/model"
	"github.com/vigil-stream/vigil/internal/nab"
	"github.com/vigil-stream/vigil/internal/record"
	"github.com/vigil-stream/vigil/internal/stream"
)

// ErrNoData is returned (wrapped) when a run finds nothing to train on.
var ErrNoData = errors.New("no training data")

// Span is a stretch of a series excluded from training, and why.
type Span struct {
	From, To time.Time
	Why      string
	Readings int
}

// Data is what a run trains on: normal readings per series, and what was
// left out.
type Data struct {
	Series   []model.Series
	Excluded map[string][]Span // by series id
	Read     map[string]int    // readings read per series, before exclusions
	// Dropped counts readings left out by reason: "episode", "label",
	// "dead-lettered", "undecodable".
	Dropped map[string]int
	// Tags holds the tags of each series' first reading (Kafka mode), for
	// tag routes.
	Tags   map[string]map[string]string
	Source string
}

// Decoder is what the trainer needs of avrocodec.
type Decoder interface {
	DecodeReading(ctx context.Context, payload []byte) (record.Reading, error)
	DecodeEvent(ctx context.Context, payload []byte) (record.Event, error)
}

// LoadFiles reads CSV files or NAB-layout directories.
func LoadFiles(paths []string) (*Data, error) {
	d := &Data{Excluded: map[string][]Span{}, Read: map[string]int{}, Dropped: map[string]int{}}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNoData, err)
		}
		if st.IsDir() {
			files, err := dataset.ListNAB(p)
			if err != nil {
				// Not the NAB layout: the directory's own CSV files.
				flat, _ := filepath.Glob(filepath.Join(p, "*.csv"))
				if len(flat) == 0 {
					return nil, fmt.Errorf("%w: %s has neither <category>/<file>.csv nor *.csv files", ErrNoData, p)
				}
				for _, f := range flat {
					s, err := dataset.ReadFile(f, filepath.Base(f))
					if err != nil {
						return nil, err
					}
					d.Series = append(d.Series, s...)
				}
				continue
			}
			for _, f := range files {
				s, err := dataset.ReadFile(f.Path, f.Key)
				if err != nil {
					return nil, err
				}
				d.Series = append(d.Series, s...)
			}
			continue
		}
		s, err := dataset.ReadFile(p, filepath.Base(p))
		if err != nil {
			return nil, err
		}
		d.Series = append(d.Series, s...)
	}
	for _, s := range d.Series {
		d.Read[s.ID] = len(s.Values)
	}
	d.Source = fmt.Sprintf("files %v", paths)
	return d, nil
}

// kafkaReader reads topics over a time range.
type kafkaReader struct {
	client *kafka.Client
	log    *zap.Logger
}

// offsetAt returns the first offset of a partition whose timestamp is at
// or after t, or the partition's end when there is none.
func (k *kafkaReader) offsetAt(ctx context.Context, topic string, partition int, t time.Time) (int64, error) {
	res, err := k.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
		topic: {kafka.TimeOffsetOf(partition, t)},
	}})
	if err != nil {
		return 0, err
	}
	for _, p := range res.Topics[topic] {
		if p.Error != nil {
			return 0, p.Error
		}
		for off := range p.Offsets {
			if off >= 0 {
				return off, nil
			}
		}
	}
	// No record at or after t: the partition's end.
	res, err = k.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
		topic: {kafka.LastOffsetOf(partition)},
	}})
	if err != nil {
		return 0, err
	}
	ps := res.Topics[topic]
	if len(ps) == 0 {
		return 0, fmt.Errorf("no offsets for %s/%d", topic, partition)
	}
	if ps[0].Error != nil {
		return 0, ps[0].Error
	}
	return ps[0].LastOffset, nil
}

// each calls fn for every record of topic whose timestamp lies in
// [from, to), partition by partition in offset order. It reads only that
// range: offsets are looked up by timestamp on every partition.
func (k *kafkaReader) each(ctx context.Context, topic string, from, to time.Time, fn func(partition int, r *kafka.Message) error) error {
	md, err := k.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return fmt.Errorf("metadata of %s: %w", topic, err)
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil {
		if len(md.Topics) == 1 && errors.Is(md.Topics[0].Error, kafka.UnknownTopicOrPartition) {
			return fmt.Errorf("topic %q does not exist", topic)
		}
		return fmt.Errorf("metadata of %s: %v", topic, md.Topics)
	}
	parts := make([]int, 0, len(md.Topics[0].Partitions))
	for _, p := range md.Topics[0].Partitions {
		parts = append(parts, p.ID)
	}
	slices.Sort(parts)
	for _, p := range parts {
		start, err := k.offsetAt(ctx, topic, p, from)
		if err != nil {
			return fmt.Errorf("offset of %s/%d at %s: %w", topic, p, from.Format(time.RFC3339), err)
		}
		end, err := k.offsetAt(ctx, topic, p, to)
		if err != nil {
			return fmt.Errorf("offset of %s/%d at %s: %w", topic, p, to.Format(time.RFC3339), err)
		}
		for off := start; off < end; {
			resp, err := k.client.Fetch(ctx, &kafka.FetchRequest{Topic: topic, Partition: p, Offset: off, MinBytes: 1, MaxBytes: 16 << 20, MaxWait: time.Second})
			if err == nil {
				err = resp.Error
			}
			if err != nil {
				return fmt.Errorf("fetch %s/%d at %d: %w", topic, p, off, err)
			}
			progressed := false
			for {
				r, err := resp.Records.ReadRecord()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return fmt.Errorf("read %s/%d: %w", topic, p, err)
				}
				if r.Offset < off || r.Offset >= end {
					continue
				}
				off, progressed = r.Offset+1, true
				m := kafka.Message{Topic: topic, Partition: p, Offset: r.Offset, Time: r.Time, Headers: r.Headers}
				if r.Key != nil {
					m.Key, _ = io.ReadAll(r.Key)
				}
				if r.Value != nil {
					m.Value, _ = io.ReadAll(r.Value)
				}
				if err := fn(p, &m); err != nil {
					return err
				}
			}
			if !progressed {
				if resp.HighWatermark <= off {
					break
				}
				off = max(off+1, resp.LogStartOffset)
			}
		}
	}
	return nil
}

// LoadKafka replays the input topics over [from, to) and leaves out the
// readings the consumer dead-lettered and those inside its anomaly
// episodes (widened by margin).
func LoadKafka(ctx context.Context, client *kafka.Client, dec Decoder, cfg *Config, from, to time.Time, logger *zap.Logger) (*Data, error) {
	k := &kafkaReader{client: client, log: logger}
	d := &Data{Excluded: map[string][]Span{}, Read: map[string]int{}, Dropped: map[string]int{},
		Source: fmt.Sprintf("kafka topics %v from %s to %s", []string(cfg.Topics), from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))}

	dead := map[[2]string]bool{} // {topic, partition/offset}
	if cfg.DLQTopic != "" {
		err := k.each(ctx, cfg.DLQTopic, from, to.Add(24*time.Hour), func(_ int, m *kafka.Message) error {
			var t, p, o string
			for _, h := range m.Headers {
				switch h.Key {
				case stream.HeaderDLQTopic:
					t = string(h.Value)
				case stream.HeaderDLQPartition:
					p = string(h.Value)
				case stream.HeaderDLQOffset:
					o = string(h.Value)
				}
			}
			if t != "" {
				dead[[2]string{t, p + "/" + o}] = true
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read dead letters: %w", err)
		}
	}
	episodes := map[string][]Span{}
	if cfg.EventsTopic != "" {
		type episode struct {
			series string
			span   Span
			closed bool
		}
		seen := map[string]*episode{} // by series and episode id
		err := k.each(ctx, cfg.EventsTopic, from.Add(-cfg.Margin), to.Add(24*time.Hour), func(_ int, m *kafka.Message) error {
			e, err := dec.DecodeEvent(ctx, m.Value)
			if err != nil {
				logger.Warn("undecodable anomaly event skipped", zap.Int64("offset", m.Offset), zap.Error(err))
				return nil
			}
			key := e.SeriesID + "\x00" + e.Episode.ID
			ep := seen[key]
			if ep == nil {
				ep = &episode{series: e.SeriesID, span: Span{From: e.Episode.Start, To: e.Time, Why: "anomaly episode " + e.Episode.ID}}
				seen[key] = ep
			}
			ep.span.To = maxTime(ep.span.To, e.Time)
			ep.closed = ep.closed || e.Kind == record.EventClosed
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read anomaly events: %w", err)
		}
		keys := make([]string, 0, len(seen))
		for key := range seen {
			keys = append(keys, key)
		}
		slices.Sort(keys)
		for _, key := range keys {
			ep := seen[key]
			sp := ep.span
			if !ep.closed {
				sp.To = maxTime(sp.To, to) // still open when the range ends
			}
			sp.From, sp.To = sp.From.Add(-cfg.Margin), sp.To.Add(cfg.Margin)
			episodes[ep.series] = append(episodes[ep.series], sp)
		}
	}

	bySeries := map[string]*model.Series{}
	var ids []string
	for _, topic := range cfg.Topics {
		err := k.each(ctx, topic, from, to, func(p int, m *kafka.Message) error {
			if dead[[2]string{topic, strconv.Itoa(p) + "/" + strconv.FormatInt(m.Offset, 10)}] {
				d.Dropped["dead-lettered"]++
				return nil
			}
			r, err := dec.DecodeReading(ctx, m.Value)
			if err != nil {
				d.Dropped["undecodable"]++
				return nil //nolint:nilerr // counted and left out, as the consumer dead-letters it
			}
			if r.Quality == record.QualityBad {
				d.Dropped["quality BAD"]++
				return nil
			}
			s := bySeries[r.SeriesID]
			if s == nil {
				s = &model.Series{ID: r.SeriesID}
				bySeries[r.SeriesID] = s
				ids = append(ids, r.SeriesID)
				if len(r.Tags) > 0 {
					if d.Tags == nil {
						d.Tags = map[string]map[string]string{}
					}
					d.Tags[r.SeriesID] = r.Tags
				}
			}
			d.Read[r.SeriesID]++
			if n := len(s.Times); n > 0 && !r.Time.After(s.Times[n-1]) {
				d.Dropped["out of order or duplicate"]++
				return nil
			}
			for _, sp := range episodes[r.SeriesID] {
				if !r.Time.Before(sp.From) && !r.Time.After(sp.To) {
					d.Dropped["anomaly episode"]++
					addExcluded(d, r.SeriesID, sp, r.Time)
					return nil
				}
			}
			s.Times = append(s.Times, r.Time)
			s.Values = append(s.Values, r.Value)
			for name, v := range r.Fields {
				if s.Fields == nil {
					s.Fields = map[string][]float64{}
				}
				col := s.Fields[name]
				for len(col) < len(s.Values)-1 {
					col = append(col, math.NaN())
				}
				s.Fields[name] = append(col, v)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		s := bySeries[id]
		for name, col := range s.Fields {
			for len(col) < len(s.Values) {
				col = append(col, math.NaN())
			}
			s.Fields[name] = col
		}
		d.Series = append(d.Series, *s)
	}
	if n := len(dead); n > 0 {
		d.Excluded[""] = append(d.Excluded[""], Span{Why: "dead-lettered by the consumer", Readings: d.Dropped["dead-lettered"]})
	}
	return d, nil
}

// addExcluded counts a reading into the excluded span of its series.
func addExcluded(d *Data, id string, sp Span, t time.Time) {
	spans := d.Excluded[id]
	for i := range spans {
		if spans[i].Why == sp.Why {
			spans[i].Readings++
			return
		}
	}
	sp.Readings = 1
	d.Excluded[id] = append(spans, sp)
}

// ExcludeLabels drops the readings inside labelled windows. Windows are
// keyed by series id; a series read from a single file (id: the file's
// name) also matches a NAB key "<category>/<file>" of the same name.
func ExcludeLabels(d *Data, windows map[string][]nab.Window) {
	byBase := map[string][]nab.Window{}
	for k, ws := range windows {
		byBase[filepath.Base(k)] = ws
	}
	for i := range d.Series {
		s := &d.Series[i]
		ws, ok := windows[s.ID]
		if !ok {
			ws = byBase[s.ID]
		}
		if len(ws) == 0 {
			continue
		}
		keep := 0
		for j, t := range s.Times {
			in := -1
			for k, w := range ws {
				if !t.Before(w.Start) && !t.After(w.End) {
					in = k
					break
				}
			}
			if in >= 0 {
				d.Dropped["label window"]++
				addExcluded(d, s.ID, Span{From: ws[in].Start, To: ws[in].End, Why: "labelled anomaly window"}, t)
				continue
			}
			s.Times[keep], s.Values[keep] = s.Times[j], s.Values[j]
			for name := range s.Fields {
				s.Fields[name][keep] = s.Fields[name][j]
			}
			keep++
		}
		s.Times, s.Values = s.Times[:keep], s.Values[:keep]
		for name := range s.Fields {
			s.Fields[name] = s.Fields[name][:keep]
		}
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

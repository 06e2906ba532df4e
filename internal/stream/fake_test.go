package stream_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/vigil-stream/vigil/internal/stream"
)

// sumProcessor is a small stateful processor for testing the Kafka side:
// per series it keeps a count and a sum of the integer values it has seen
// and, for each record, publishes "series,offset,count,sum" to its output
// topic. Any lost, duplicated or reordered state shows in those numbers.
type sumProcessor struct {
	out    string
	delay  time.Duration
	series map[string]*sumState
	dirty  map[string]bool
	next   int64 // offset after the last record processed
}

type sumState struct {
	count, sum int64
	watermark  int64 // offset of the last record reflected
}

type sumFactory struct {
	out   string
	delay time.Duration // per batch, to stretch a run
}

func (f sumFactory) NewProcessor(string, int) (stream.Processor, error) {
	return &sumProcessor{out: f.out, delay: f.delay, series: map[string]*sumState{}, dirty: map[string]bool{}, next: -1}, nil
}

var _ stream.Processor = (*sumProcessor)(nil)

func (p *sumProcessor) Restore(series string, state []byte) error {
	if len(state) != 24 {
		return errors.New("bad state length")
	}
	p.series[series] = &sumState{
		count:     int64(binary.BigEndian.Uint64(state)),
		sum:       int64(binary.BigEndian.Uint64(state[8:])),
		watermark: int64(binary.BigEndian.Uint64(state[16:])),
	}
	return nil
}

func (p *sumProcessor) Process(recs []stream.Record, out *stream.Output) error {
	time.Sleep(p.delay)
	if len(recs) > 0 {
		p.next = recs[len(recs)-1].Offset + 1
	}
	for _, r := range recs {
		series, val, ok := strings.Cut(string(r.Value), "=")
		v, err := strconv.ParseInt(val, 10, 64)
		if !ok || err != nil {
			return fmt.Errorf("bad test record %q", r.Value)
		}
		s := p.series[series]
		if s == nil {
			s = &sumState{watermark: -1}
			p.series[series] = s
		}
		if r.Offset <= s.watermark {
			continue
		}
		s.count++
		s.sum += v
		s.watermark = r.Offset
		p.dirty[series] = true
		out.Messages = append(out.Messages, kafka.Message{
			Topic: p.out, Key: []byte(series),
			Value: []byte(fmt.Sprintf("%s,%d,%d,%d", series, r.Offset, s.count, s.sum)),
		})
	}
	return nil
}

func (p *sumProcessor) Close() {}

func (p *sumProcessor) Pending() int { return len(p.dirty) }

// Checkpoint writes every changed series whatever the limit: simple, and
// valid (a checkpoint may always do more than asked).
func (p *sumProcessor) Checkpoint(_ int, emit func(string, []byte)) (int64, error) {
	var b [24]byte
	keys := make([]string, 0, len(p.dirty))
	for series := range p.dirty {
		keys = append(keys, series)
	}
	slices.Sort(keys)
	for _, series := range keys {
		s := p.series[series]
		binary.BigEndian.PutUint64(b[:], uint64(s.count))
		binary.BigEndian.PutUint64(b[8:], uint64(s.sum))
		binary.BigEndian.PutUint64(b[16:], uint64(s.watermark))
		emit(series, b[:])
	}
	clear(p.dirty)
	return p.next, nil
}

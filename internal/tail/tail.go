// Package tail follows Vigil's anomaly events topic and prints each event
// in a form people read at a glance: one line per event with the series,
// the time, the value against the expected one, the score and the reason.
// It is what `cmd/tail` runs, for operators and demos; alerting services
// consume the Avro events directly.
package tail

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/vigil-stream/vigil/internal/record"
)

// Config selects what to follow.
type Config struct {
	// Topic is the events topic. Default vigil.anomalies.
	Topic string `yaml:"topic"`
	// FromStart prints the topic's history first. Default false (only new
	// events).
	FromStart bool `yaml:"from_start"`
	// Count stops after this many events; 0 follows until stopped.
	Count int `yaml:"count"`
	// Kinds limits the output to these kinds (OPENED, UPDATED, CLOSED);
	// empty prints all.
	Kinds string `yaml:"kinds"`
}

// RegisterFlags registers the tail flags.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.Topic, "tail.topic", "vigil.anomalies", "Anomaly events topic to follow.")
	f.BoolVar(&c.FromStart, "tail.from-start", false, "Print the topic's history first, not only new events.")
	f.IntVar(&c.Count, "tail.count", 0, "Stop after this many events; 0 follows until stopped.")
	f.StringVar(&c.Kinds, "tail.kinds", "", "Only these kinds, comma-separated (OPENED, UPDATED, CLOSED); empty: all.")
}

// Validate checks the settings.
func (c *Config) Validate() error {
	if c.Topic == "" {
		return errors.New("tail.topic is required")
	}
	if c.Count < 0 {
		return errors.New("tail.count must be ≥ 0")
	}
	return nil
}

// Decoder decodes events; *avrocodec.Codec implements it.
type Decoder interface {
	DecodeEvent(ctx context.Context, payload []byte) (record.Event, error)
}

// Format renders one event as a line.
func Format(e *record.Event) string {
	dir := "above"
	if e.Direction == record.DirectionBelow {
		dir = "below"
	}
	head := fmt.Sprintf("%-7s %s  %-28s", e.Kind, e.Time.UTC().Format("2006-01-02 15:04:05"), e.SeriesID)
	switch e.Kind {
	case record.EventClosed:
		return fmt.Sprintf("%s episode %s over after %d flagged readings; peak score %.2f at %s",
			head, short(e.Episode.ID), e.Episode.Readings, e.Episode.PeakScore, e.Episode.PeakTime.UTC().Format("2006-01-02 15:04"))
	default:
		return fmt.Sprintf("%s value %.4g, expected %.4g (%s)  score %.2f  model %s v%s\n        why: %s",
			head, e.Value, e.Predicted, dir, e.Score, e.Model.Name, e.Model.Version, e.Explanation.Reason)
	}
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// Run prints events of cfg.Topic to w until ctx ends or Count events were
// printed. It reads every partition with a reader of the given brokers.
func Run(ctx context.Context, cfg Config, dialer *kafka.Dialer, brokers []string, dec Decoder, w io.Writer) error {
	start := kafka.LastOffset
	if cfg.FromStart {
		start = kafka.FirstOffset
	}
	conn, err := dialer.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		return fmt.Errorf("tail: %w", err)
	}
	parts, err := conn.ReadPartitions(cfg.Topic)
	_ = conn.Close()
	if err != nil {
		return fmt.Errorf("tail %s: %w", cfg.Topic, err)
	}
	kinds := map[string]bool{}
	for _, k := range splitList(cfg.Kinds) {
		kinds[k] = true
	}
	type msg struct {
		m   kafka.Message
		err error
	}
	ch := make(chan msg)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	for _, p := range parts {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Dialer: dialer, Topic: cfg.Topic, Partition: p.ID,
			MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 200 * time.Millisecond})
		if err := r.SetOffset(start); err != nil {
			_ = r.Close()
			return fmt.Errorf("tail %s/%d: %w", cfg.Topic, p.ID, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			for {
				m, err := r.ReadMessage(ctx)
				select {
				case ch <- msg{m, err}:
				case <-ctx.Done():
					return
				}
				if err != nil {
					return
				}
			}
		}()
	}
	printed := 0
	for {
		var x msg
		select {
		case <-ctx.Done():
			return nil
		case x = <-ch:
		}
		if x.err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("tail %s: %w", cfg.Topic, x.err)
		}
		e, err := dec.DecodeEvent(ctx, x.m.Value)
		if err != nil {
			fmt.Fprintf(w, "undecodable event at %d/%d: %v\n", x.m.Partition, x.m.Offset, err)
			continue
		}
		if len(kinds) > 0 && !kinds[e.Kind.String()] {
			continue
		}
		fmt.Fprintln(w, Format(&e))
		printed++
		if cfg.Count > 0 && printed >= cfg.Count {
			return nil
		}
	}
}

func splitList(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

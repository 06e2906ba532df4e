// Command stream benchmarks the consumer against a real broker: it drives
// readings of many synthetic series through Vigil's consumer and, in the
// same run on the same topics' data, through a plain kafka-go pipe that
// only decodes each reading and writes a score-sized record back (read →
// write, same codec, no detection). It reports, for each:
//
//   - throughput: readings per second at full speed over a preloaded topic,
//     measured over the middle 60% of the output records by their broker
//     timestamps (group joins, start-up and the tail excluded alike);
//   - latency at half of Vigil's maximum rate: from each reading's broker
//     timestamp to its output record's broker timestamp (topics use
//     message.timestamp.type=LogAppendTime, so both are the broker's clock),
//     p50 and p99.
//
// Run it with `make bench-stream` (which starts the local broker), or
//
//	go run ./bench/stream -brokers=127.0.0.1:19092 -series=10000 -readings=40
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/vigil-stream/vigil/internal/avrocodec"
	"github.com/vigil-stream/vigil/internal/config"
	"github.com/vigil-stream/vigil/internal/detect"
	"github.com/vigil-stream/vigil/internal/kafkaconn"
	"github.com/vigil-stream/vigil/internal/kafkatest"
	"github.com/vigil-stream/vigil/internal/model"
	"github.com/vigil-stream/vigil/internal/modelstore"
	"github.com/vigil-stream/vigil/internal/record"
	"github.com/vigil-stream/vigil/internal/replay"
	"github.com/vigil-stream/vigil/internal/stream"
)

type options struct {
	brokers    string
	series     int
	readings   int
	partitions int
	latencyFor time.Duration
	hidden     string
	keep       bool
	verbose    bool
	rate       float64
	cpuprofile string
	only       string
	latOnly    bool
}

func main() {
	var o options
	flag.StringVar(&o.brokers, "brokers", envOr(kafkatest.EnvBrokers, "127.0.0.1:19092"), "Kafka bootstrap brokers.")
	flag.IntVar(&o.series, "series", 10000, "Synthetic series.")
	flag.IntVar(&o.readings, "readings", 40, "Readings per series in the throughput phase.")
	flag.IntVar(&o.partitions, "partitions", 4, "Partitions of the input topic.")
	flag.DurationVar(&o.latencyFor, "latency-duration", 20*time.Second, "Length of the paced latency phase.")
	flag.StringVar(&o.hidden, "hidden", "", "LSTM layer sizes of the benchmark model, comma-separated; empty: the trainer's default.")
	flag.BoolVar(&o.keep, "keep-topics", false, "Keep the benchmark topics.")
	flag.BoolVar(&o.verbose, "v", false, "Log the consumers' info lines.")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "Write a CPU profile of the whole run to this file.")
	flag.StringVar(&o.only, "only", "", "Run only this kind (pipe, layer or vigil), throughput phase only.")
	flag.BoolVar(&o.latOnly, "latency-only", false, "Run only the latency phase, at -latency-rate, for every kind (or -only's).")
	flag.Float64Var(&o.rate, "latency-rate", 0, "Rate of the latency phase; 0 is half of vigil's measured maximum.")
	flag.Parse()
	os.Exit(profiled(o))
}

// profiled runs the benchmark, under the CPU profiler if asked, and
// returns the exit code.
func profiled(o options) int {
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	return 0
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

type bench struct {
	o       options
	brokers []string
	codec   *avrocodec.Codec
	log     *zap.Logger
	topics  []string
	models  string
	hidden  []int
}

func run(o options) error {
	ctx := context.Background()
	level := zap.WarnLevel
	if o.verbose {
		level = zap.InfoLevel
	}
	log, _ := zap.NewProduction(zap.IncreaseLevel(level))
	codec, err := avrocodec.New(avrocodec.DefaultConfig(), nil, log)
	if err != nil {
		return err
	}
	b := &bench{o: o, brokers: strings.Split(o.brokers, ","), codec: codec, log: log}
	defer b.cleanup()
	if err := b.trainModel(); err != nil {
		return err
	}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	series := replay.Synthetic(o.series, o.readings, start, time.Minute, 1)
	total := o.series * o.readings

	// Throughput: one preloaded input topic, read by both.
	in, err := b.topic("in", o.partitions)
	if err != nil {
		return err
	}
	fmt.Printf("producing %d readings of %d series to %d partitions...\n", total, o.series, o.partitions)
	if err := b.produce(ctx, in, series, 0, 0); err != nil {
		return err
	}
	kinds := []string{"pipe", "layer", "vigil"}
	if o.latOnly {
		if o.rate <= 0 {
			return errors.New("-latency-only needs -latency-rate")
		}
		if o.only != "" {
			kinds = []string{o.only}
		}
		n := int(o.rate * o.latencyFor.Seconds())
		per := max(1, n/o.series)
		paced := replay.Synthetic(o.series, per, start, time.Minute, 2)
		for _, k := range kinds {
			if _, err := b.latency(ctx, k, paced, o.rate); err != nil {
				return err
			}
		}
		return nil
	}
	if o.only != "" {
		_, err := b.throughput(ctx, o.only, in, total)
		return err
	}
	var rates [3]float64
	for i, k := range kinds {
		if rates[i], err = b.throughput(ctx, k, in, total); err != nil {
			return err
		}
	}
	pipeRate, vigilRate := rates[0], rates[2]

	// Latency at half of Vigil's maximum rate, for both.
	rate := vigilRate / 2
	if o.rate > 0 {
		rate = o.rate
	}
	n := int(rate * o.latencyFor.Seconds())
	per := max(1, n/o.series)
	paced := replay.Synthetic(o.series, o.readings+per, start, time.Minute, 2)
	for i := range paced {
		paced[i].Times, paced[i].Values = paced[i].Times[o.readings:], paced[i].Values[o.readings:]
	}
	var lat [3]latency
	for i, kind := range kinds {
		if lat[i], err = b.latency(ctx, kind, paced, rate); err != nil {
			return err
		}
	}

	fmt.Println()
	fmt.Printf("series %d, partitions %d, model LSTM %v, readings %d, one process on %d cores\n", o.series, o.partitions, b.hidden, total, runtime.NumCPU())
	fmt.Println("pipe:  plain kafka-go pipe (consumer-group Reader → decode → encode → Writer, commit per batch)")
	fmt.Println("layer: Vigil's Kafka layer with a pass-through processor (same fetch, publish and commit path, no detection)")
	fmt.Println("vigil: the consumer: LSTM step, dynamic threshold, episodes, changelog checkpoints")
	fmt.Printf("%-30s %12s %12s %12s\n", "", "pipe", "layer", "vigil")
	fmt.Printf("%-30s %12.0f %12.0f %12.0f\n", "throughput (readings/s)", rates[0], rates[1], rates[2])
	fmt.Printf("%-30s %12.2f %12.2f %12.2f\n", "ratio to pipe", 1.0, rates[1]/pipeRate, vigilRate/pipeRate)
	fmt.Printf("latency, target input rate %.0f readings/s (half of vigil's max), broker to broker timestamp:\n", rate)
	fmt.Printf("%-30s %12.0f %12.0f %12.0f\n", "  input rate achieved (/s)", lat[0].achieved, lat[1].achieved, lat[2].achieved)
	fmt.Printf("%-30s %12s %12s %12s\n", "  p50", lat[0].p50, lat[1].p50, lat[2].p50)
	fmt.Printf("%-30s %12s %12s %12s\n", "  p99", lat[0].p99, lat[1].p99, lat[2].p99)
	fmt.Printf("%-30s %12d %12d %12d\n", "  readings measured", lat[0].n, lat[1].n, lat[2].n)
	return nil
}

// trainModel trains the benchmark model on a few synthetic series.
func (b *bench) trainModel() error {
	dir, err := os.MkdirTemp("", "vigil-bench-models-")
	if err != nil {
		return err
	}
	b.models = dir
	cfg := model.DefaultTrainConfig()
	hidden := cfg.Hidden
	if b.o.hidden != "" {
		hidden = nil
	}
	for _, h := range strings.Split(b.o.hidden, ",") {
		if h == "" {
			continue
		}
		var x int
		if _, err := fmt.Sscan(h, &x); err != nil {
			return fmt.Errorf("-hidden: %w", err)
		}
		hidden = append(hidden, x)
	}
	cfg.Hidden = hidden
	b.hidden = hidden
	cfg.Epochs = 2
	series := replay.Synthetic(4, 800, time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), time.Minute, 5)
	net, sc, rep, err := model.Train(context.Background(), cfg, series, zap.NewNop(), nil)
	if err != nil {
		return err
	}
	m, err := model.FromTraining("default", 1, net, sc, rep, "bench")
	if err != nil {
		return err
	}
	store, err := modelstore.Open(modelstore.Config{Dir: dir, Keep: 1})
	if err != nil {
		return err
	}
	_, err = store.Publish(m)
	return err
}

func (b *bench) topic(purpose string, partitions int, opts ...kafkatest.TopicOption) (string, error) {
	name := fmt.Sprintf("vigil-bench-%s-%d", purpose, time.Now().UnixNano())
	opts = append(opts, kafkatest.WithConfig("message.timestamp.type", "LogAppendTime"))
	if err := kafkatest.CreateTopic(context.Background(), b.brokers, name, partitions, opts...); err != nil {
		return "", err
	}
	b.topics = append(b.topics, name)
	return name, nil
}

func (b *bench) cleanup() {
	if b.models != "" {
		_ = os.RemoveAll(b.models)
	}
	if b.o.keep {
		return
	}
	for _, t := range b.topics {
		_ = kafkatest.DeleteTopic(context.Background(), b.brokers, t)
	}
}

func (b *bench) writer() *kafka.Writer {
	conn := kafkaconn.Config{Brokers: b.brokers, ClientID: "vigil-bench", DialTimeout: 10 * time.Second}
	return conn.Writer(conn.Transport(), nil, 2*time.Millisecond)
}

func (b *bench) produce(ctx context.Context, topic string, series []model.Series, rate float64, limit int) error {
	w := b.writer()
	defer w.Close()
	_, err := replay.Run(ctx, replay.Config{Topic: topic, Rate: rate, Limit: limit}, series, b.codec, w, b.log)
	return err
}

// runner is a consumer of either kind, writing one record per reading to out.
type runner interface {
	Run(ctx context.Context) error
}

func (b *bench) consumer(kind, in, out string) (runner, string, error) {
	group := fmt.Sprintf("vigil-bench-%s-%d", kind, time.Now().UnixNano())
	if kind == "pipe" {
		return &pipe{brokers: b.brokers, group: group, in: in, out: out, codec: b.codec}, group, nil
	}
	var factory stream.ProcessorFactory = passFactory{codec: b.codec, out: out}
	events, err := b.topic("events", b.o.partitions)
	if err != nil {
		return nil, "", err
	}
	dlq, err := b.topic("dlq", 1)
	if err != nil {
		return nil, "", err
	}
	changelog, err := b.topic("state", b.o.partitions, kafkatest.WithConfig("cleanup.policy", "compact"))
	if err != nil {
		return nil, "", err
	}
	store, err := modelstore.Open(modelstore.Config{Dir: b.models, Keep: 1})
	if err != nil {
		return nil, "", err
	}
	w := modelstore.NewWatcher(store, time.Hour, b.log, nil)
	if err := w.Poll(); err != nil {
		return nil, "", err
	}
	router, err := detect.NewRouter(detect.Routing{Default: "default"}, w.Snapshot)
	if err != nil {
		return nil, "", err
	}
	if kind == "vigil" {
		dcfg := detect.DefaultConfig()
		d, err := stream.NewDetection(dcfg, b.codec, router, stream.DetectionTopics{Events: events, Scores: out, DLQ: dlq}, b.log, prometheus.NewRegistry())
		if err != nil {
			return nil, "", err
		}
		factory = d
	}
	var scfg stream.Config
	scfg.RegisterFlags(flag.NewFlagSet("", flag.ContinueOnError))
	scfg.Group, scfg.Topics = group, config.StringList{in}
	scfg.EventsTopic, scfg.ScoresTopic, scfg.DLQTopic, scfg.ChangelogTopic = events, out, dlq, changelog
	scfg.SessionTimeout, scfg.HeartbeatInterval = 3*time.Second, 500*time.Millisecond
	conn := kafkaconn.Config{Brokers: b.brokers, ClientID: "vigil-bench", DialTimeout: 10 * time.Second}
	c, err := stream.New(scfg, conn, factory, b.log, prometheus.NewRegistry())
	return c, group, err
}

// passFactory makes processors that decode each reading and write a score
// record for it: Vigil's Kafka layer without detection.
type passFactory struct {
	codec *avrocodec.Codec
	out   string
}

func (f passFactory) NewProcessor(string, int) (stream.Processor, error) {
	return &pass{f: f, next: -1}, nil
}

type pass struct {
	f    passFactory
	next int64
}

func (p *pass) Restore(string, []byte) error { return nil }
func (p *pass) Pending() int                 { return 0 }
func (p *pass) Close()                       {}

// Checkpoint has no state to write; it commits what was processed.
func (p *pass) Checkpoint(int, func(string, []byte)) (int64, error) { return p.next, nil }

func (p *pass) Process(recs []stream.Record, out *stream.Output) error {
	ctx := context.Background()
	if len(recs) > 0 {
		p.next = recs[len(recs)-1].Offset + 1
	}
	for _, r := range recs {
		rd, err := p.f.codec.DecodeReading(ctx, r.Value)
		if err != nil {
			return err
		}
		s := record.Score{SeriesID: rd.SeriesID, Time: rd.Time, Value: rd.Value, Predicted: rd.Value,
			Provenance: record.Provenance{Topic: r.Topic, Partition: int32(r.Partition), Offset: r.Offset}}
		v, err := p.f.codec.EncodeScore(ctx, nil, &s)
		if err != nil {
			return err
		}
		out.Messages = append(out.Messages, kafka.Message{Topic: p.f.out, Key: r.Key, Value: v})
	}
	return nil
}

// throughput runs one consumer over the preloaded input until it has
// written one record per reading, and returns readings per second between
// the first and the last output's broker timestamps.
func (b *bench) throughput(ctx context.Context, kind, in string, total int) (float64, error) {
	out, err := b.topic("out-"+kind, b.o.partitions)
	if err != nil {
		return 0, err
	}
	c, _, err := b.consumer(kind, in, out)
	if err != nil {
		return 0, err
	}
	fmt.Printf("%s: consuming %d readings at full speed...\n", kind, total)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	started := time.Now()
	go func() { done <- c.Run(runCtx) }()
	if err := waitCount(ctx, b.brokers, out, int64(total), 10*time.Minute, done); err != nil {
		cancel()
		return 0, fmt.Errorf("%s: %w", kind, err)
	}
	cancel()
	if err := <-done; err != nil {
		return 0, fmt.Errorf("%s: %w", kind, err)
	}
	times, err := sortedTimes(ctx, b.brokers, out)
	if err != nil {
		return 0, err
	}
	// The headline is the rate over the middle 60% of the outputs (by their
	// broker timestamps): start-up (group join, restore, the first fetch)
	// and the tail are left out for every kind alike. From-start figures
	// are printed too.
	lo, hi := len(times)/5, len(times)*4/5
	rate := float64(hi-lo) / times[hi].Sub(times[lo]).Seconds()
	last := times[len(times)-1]
	fmt.Printf("%s: %d readings; middle 60%% at %.0f/s; %v from start to the last output (%.0f/s)\n",
		kind, total, rate, last.Sub(started).Round(time.Millisecond), float64(total)/last.Sub(started).Seconds())
	return rate, nil
}

type latency struct {
	p50, p99 time.Duration
	n        int
	achieved float64 // input rate the broker saw
}

// latency runs one consumer while readings are produced at rate, and
// measures broker-timestamp latencies from input to output.
func (b *bench) latency(ctx context.Context, kind string, series []model.Series, rate float64) (latency, error) {
	in, err := b.topic("lat-in-"+kind, b.o.partitions)
	if err != nil {
		return latency{}, err
	}
	out, err := b.topic("lat-out-"+kind, b.o.partitions)
	if err != nil {
		return latency{}, err
	}
	c, group, err := b.consumer(kind, in, out)
	if err != nil {
		return latency{}, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	// Let the group form before the clock starts: a warm-up trickle.
	warm := series[:1]
	if err := b.produce(ctx, in, warm, 0, 1); err != nil {
		cancel()
		return latency{}, err
	}
	if err := waitCount(ctx, b.brokers, out, 1, time.Minute, done); err != nil {
		cancel()
		return latency{}, fmt.Errorf("%s warm-up: %w", kind, err)
	}
	// Produce at the target rate for the phase's duration; the producer
	// shares the machine, so the rate it achieves is measured, not assumed.
	fmt.Printf("%s: producing at %.0f readings/s for %v...\n", kind, rate, b.o.latencyFor)
	pctx, pcancel := context.WithTimeout(ctx, b.o.latencyFor)
	w := b.writer()
	n, err := replay.Run(pctx, replay.Config{Topic: in, Rate: rate}, series, b.codec, w, b.log)
	pcancel()
	_ = w.Close()
	if err != nil {
		cancel()
		return latency{}, err
	}
	n++ // the warm-up reading
	if err := waitCount(ctx, b.brokers, out, int64(n), 5*time.Minute, done); err != nil {
		cancel()
		return latency{}, fmt.Errorf("%s: %w", kind, err)
	}
	cancel()
	if err := <-done; err != nil {
		return latency{}, err
	}
	_ = group
	inTimes, err := readTimes(ctx, b.brokers, in)
	if err != nil {
		return latency{}, err
	}
	var first, last time.Time
	for _, t := range inTimes {
		if first.IsZero() || t.Before(first) {
			first = t
		}
		if t.After(last) {
			last = t
		}
	}
	var ds []time.Duration
	outs, err := readAll(ctx, b.brokers, out)
	if err != nil {
		return latency{}, err
	}
	seen := map[[2]int64]bool{}
	for _, m := range outs {
		p, off, err := b.provenance(kind, m)
		if err != nil {
			return latency{}, err
		}
		k := [2]int64{int64(p), off}
		if seen[k] || (p == 0 && off == 0) {
			continue // replays, and the warm-up reading
		}
		seen[k] = true
		if t, ok := inTimes[k]; ok {
			ds = append(ds, m.Time.Sub(t))
		}
	}
	if len(ds) == 0 {
		return latency{}, errors.New("no latencies measured")
	}
	slices.Sort(ds)
	q := func(p float64) time.Duration { return ds[min(len(ds)-1, int(p*float64(len(ds))))] }
	l := latency{p50: q(0.50), p99: q(0.99), n: len(ds), achieved: float64(len(inTimes)) / last.Sub(first).Seconds()}
	fmt.Printf("%s: latency p50 %v p99 %v over %d readings arriving at %.0f/s\n", kind, l.p50, l.p99, l.n, l.achieved)
	return l, nil
}

// provenance extracts the input partition and offset an output record
// answers.
func (b *bench) provenance(kind string, m kafka.Message) (int32, int64, error) {
	s, err := b.codec.DecodeScore(context.Background(), m.Value)
	if err != nil {
		return 0, 0, fmt.Errorf("%s output: %w", kind, err)
	}
	return s.Provenance.Partition, s.Provenance.Offset, nil
}

// pipe is the plain kafka-go pipe: a consumer group reader, decode, encode
// a score record, write, commit, in batches.
type pipe struct {
	brokers        []string
	group, in, out string
	codec          *avrocodec.Codec
}

func (p *pipe) Run(ctx context.Context) error {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: p.brokers, GroupID: p.group, Topic: p.in, StartOffset: kafka.FirstOffset,
		MinBytes: 1, MaxBytes: 4 << 20, MaxWait: 250 * time.Millisecond, QueueCapacity: 10000,
		SessionTimeout: 6 * time.Second, HeartbeatInterval: time.Second,
	})
	defer r.Close()
	conn := kafkaconn.Config{Brokers: p.brokers, ClientID: "vigil-bench-pipe", DialTimeout: 10 * time.Second}
	w := conn.Writer(conn.Transport(), nil, 2*time.Millisecond)
	defer w.Close()
	var batch []kafka.Message
	var outs []kafka.Message
	for {
		batch, outs = batch[:0], outs[:0]
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		batch = append(batch, m)
		// Take what is already buffered, up to 5,000 records.
		for len(batch) < 5000 && r.Stats().QueueLength > 0 {
			m, err := r.FetchMessage(ctx)
			if err != nil {
				break
			}
			batch = append(batch, m)
		}
		for _, m := range batch {
			rd, err := p.codec.DecodeReading(ctx, m.Value)
			if err != nil {
				return err
			}
			s := record.Score{SeriesID: rd.SeriesID, Time: rd.Time, Value: rd.Value, Predicted: rd.Value,
				Provenance: record.Provenance{Topic: m.Topic, Partition: int32(m.Partition), Offset: m.Offset}}
			v, err := p.codec.EncodeScore(ctx, nil, &s)
			if err != nil {
				return err
			}
			outs = append(outs, kafka.Message{Topic: p.out, Key: m.Key, Value: v})
		}
		if err := w.WriteMessages(ctx, outs...); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := r.CommitMessages(ctx, batch...); err != nil && ctx.Err() == nil {
			return err
		}
	}
}

func waitCount(ctx context.Context, brokers []string, topic string, n int64, timeout time.Duration, done <-chan error) error {
	deadline := time.Now().Add(timeout)
	for {
		ends, err := kafkatest.PartitionEnds(ctx, brokers, topic)
		if err == nil {
			var got int64
			for _, e := range ends {
				got += e
			}
			if got >= n {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s has %d records after %v, want %d", topic, got, timeout, n)
			}
		}
		select {
		case err := <-done:
			return fmt.Errorf("consumer stopped early: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func readAll(ctx context.Context, brokers []string, topic string) ([]kafka.Message, error) {
	return kafkatest.ReadTopic(ctx, brokers, topic)
}

// readTimes returns the broker timestamp of every record of a topic.
func readTimes(ctx context.Context, brokers []string, topic string) (map[[2]int64]time.Time, error) {
	msgs, err := readAll(ctx, brokers, topic)
	if err != nil {
		return nil, err
	}
	out := make(map[[2]int64]time.Time, len(msgs))
	for _, m := range msgs {
		out[[2]int64{int64(m.Partition), m.Offset}] = m.Time
	}
	return out, nil
}

// sortedTimes returns the broker timestamps of a topic's records, sorted.
func sortedTimes(ctx context.Context, brokers []string, topic string) ([]time.Time, error) {
	msgs, err := readAll(ctx, brokers, topic)
	if err != nil {
		return nil, err
	}
	if len(msgs) < 5 {
		return nil, fmt.Errorf("%s has %d records: too few to time", topic, len(msgs))
	}
	ts := make([]time.Time, len(msgs))
	for i, m := range msgs {
		ts[i] = m.Time
	}
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	return ts, nil
}

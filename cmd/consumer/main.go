// Command consumer is Vigil's detector: it joins a consumer group on the
// sensor topics, scores every reading of every series with its model's
// stateful LSTM and dynamic threshold, and publishes anomaly events (and,
// optionally, a score per reading) to Kafka. State is checkpointed to a
// compacted changelog topic, models are hot-swapped from the model store,
// and /metrics, /healthz and /readyz are served on -admin.addr.
//
//	consumer -kafka.brokers=kafka:9092 -stream.topics=sensors -models.dir=/models
//
// Every flag can also be set by its VIGIL_… environment variable
// (-stream.topics is VIGIL_STREAM_TOPICS) and in the YAML file named by
// -config (docs/configuration.md); -print-config prints the effective
// configuration and exits. Exit codes: 0 after a clean shutdown (SIGTERM or
// SIGINT), 1 on a runtime failure, 2 on bad configuration.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/vigil-stream/vigil/internal/admin"
	"github.com/vigil-stream/vigil/internal/avrocodec"
	"github.com/vigil-stream/vigil/internal/config"
	"github.com/vigil-stream/vigil/internal/detect"
	"github.com/vigil-stream/vigil/internal/kafkaconn"
	"github.com/vigil-stream/vigil/internal/logging"
	"github.com/vigil-stream/vigil/internal/model"
	"github.com/vigil-stream/vigil/internal/modelstore"
	"github.com/vigil-stream/vigil/internal/stream"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// settings is the consumer's configuration: the configs of its components.
type settings struct {
	log     logging.Config
	kafka   kafkaconn.Config
	stream  stream.Config
	codec   avrocodec.Config
	detect  detect.Config
	routing detect.Routing
	store   modelstore.Config
	admin   admin.Config
	poll    time.Duration
}

// flags registers every flag of the consumer on a new FlagSet; run and the
// generated example configuration (deploy/config/vigil.example.yaml) share
// it.
func flags(s *settings) *flag.FlagSet {
	fs := flag.NewFlagSet("consumer", flag.ContinueOnError)
	s.log.RegisterFlags(fs)
	s.kafka.RegisterFlags(fs, "kafka.")
	s.stream.RegisterFlags(fs)
	s.codec.RegisterFlags(fs)
	s.detect.RegisterFlags(fs)
	s.routing.RegisterFlags(fs)
	s.store.RegisterFlags(fs)
	s.admin.RegisterFlags(fs)
	fs.DurationVar(&s.poll, "models.poll", 10*time.Second, "How often the model store is checked for promoted versions.")
	return fs
}

// validate checks the settings; the errors of every component are joined.
func (s *settings) validate() error {
	err := config.Validate(&s.log, &s.kafka, &s.stream, &s.codec, &s.detect, &s.routing, &s.store, &s.admin)
	if s.poll <= 0 {
		err = errors.Join(err, errors.New("models.poll must be positive"))
	}
	return err
}

func run(args []string, stdout, stderr io.Writer) int {
	var s settings
	fs := flags(&s)
	fs.SetOutput(stderr)
	if code, ok := config.Setup(fs, args, stdout, stderr, s.validate); !ok {
		return code
	}
	logCfg, kafkaCfg, streamCfg, codecCfg, detectCfg, routing, storeCfg, adminCfg, poll :=
		s.log, s.kafka, s.stream, s.codec, s.detect, s.routing, s.store, s.admin, s.poll
	log, err := logging.New(logCfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "consumer:", err)
		return 2
	}
	defer func() { _ = log.Sync() }()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// A misconfigured connection (TLS, SASL, wrong port) fails here, at
	// once, instead of in a consumer group that retries forever.
	if err := kafkaCfg.Check(ctx); err != nil {
		log.Error("cannot use the Kafka cluster", logging.Err(err))
		return kafkaconn.ExitCode(err)
	}

	// Models come from the store directory, or from the model topic.
	var (
		snapshot  func() map[string]*model.Model
		runModels func(context.Context) error
	)
	if storeCfg.Topic != "" {
		tw := modelstore.NewTopicWatcher(kafkaCfg.Client(kafkaCfg.Transport(), 30*time.Second), storeCfg.Topic, log, reg)
		if err := tw.CatchUp(ctx); err != nil {
			log.Error("model topic", logging.Err(err))
			return 2
		}
		snapshot = tw.Snapshot
		runModels = func(ctx context.Context) error { return tw.Run(ctx, poll) }
	} else {
		store, err := modelstore.Open(storeCfg)
		if err != nil {
			log.Error("model store", logging.Err(err))
			return 2
		}
		watcher := modelstore.NewWatcher(store, poll, log, reg)
		if err := watcher.Poll(); err != nil {
			log.Error("model store", logging.Err(err))
			return 2
		}
		snapshot, runModels = watcher.Snapshot, watcher.Run
	}
	if len(snapshot()) == 0 {
		log.Warn("no promoted model yet: readings are dead-lettered as no_model until the trainer publishes one",
			logging.String("dir", storeCfg.Dir), logging.String("topic", storeCfg.Topic))
	}
	router, err := detect.NewRouter(routing, snapshot)
	if err != nil {
		log.Error("model routing", logging.Err(err))
		return 2
	}
	codec, err := avrocodec.Open(codecCfg, log)
	if err != nil {
		log.Error("codec", logging.Err(err))
		return 2
	}
	defer codec.Close()
	detection, err := stream.NewDetection(detectCfg, codec, router, stream.DetectionTopics{
		Events: streamCfg.EventsTopic, Scores: streamCfg.ScoresTopic, DLQ: streamCfg.DLQTopic,
	}, log, reg)
	if err != nil {
		log.Error("detection", logging.Err(err))
		return 2
	}
	consumer, err := stream.New(streamCfg, kafkaCfg, detection, log, reg)
	if err != nil {
		log.Error("consumer", logging.Err(err))
		return 2
	}
	server, err := admin.New(adminCfg, reg, nil, consumer.Ready, log)
	if err != nil {
		log.Error("admin endpoints", logging.Err(err))
		return 2
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return consumer.Run(gctx) })
	g.Go(func() error { return runModels(gctx) })
	g.Go(func() error { return server.Run(gctx) })
	log.Info("consumer started", logging.Strings("topics", streamCfg.Topics), logging.String("group", streamCfg.Group))
	if err := g.Wait(); err != nil {
		log.Error("consumer failed", logging.Err(err))
		return 1
	}
	log.Info("consumer stopped cleanly")
	return 0
}

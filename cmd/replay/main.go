// Command replay publishes sensor readings to Kafka: CSV files (NAB layout
// or with a series column) or synthetic series, Avro-encoded, at a chosen
// rate. It is Vigil's load generator, and a way to test a topic.
//
//	replay -kafka.brokers=127.0.0.1:19092 -replay.topic=sensors \
//	       -replay.files=testdata/nab/data -replay.rate=2000
//
// Every flag can also be set by its VIGIL_… environment variable and in the
// YAML file named by -config (docs/configuration.md); -print-config prints
// the effective configuration and exits.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/vigil-stream/vigil/internal/avrocodec"
	"github.com/vigil-stream/vigil/internal/config"
	"github.com/vigil-stream/vigil/internal/kafkaconn"
	"github.com/vigil-stream/vigil/internal/logging"
	"github.com/vigil-stream/vigil/internal/replay"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// settings is the configuration of replay.
type settings struct {
	log    logging.Config
	kafka  kafkaconn.Config
	codec  avrocodec.Config
	replay replay.Config
}

// flags registers every flag of replay on a new FlagSet.
func flags(s *settings) *flag.FlagSet {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	s.log.RegisterFlags(fs)
	s.kafka.RegisterFlags(fs, "kafka.")
	s.codec.RegisterFlags(fs)
	s.replay.RegisterFlags(fs)
	return fs
}

func run(args []string, stdout, stderr io.Writer) int {
	var s settings
	fs := flags(&s)
	fs.SetOutput(stderr)
	validate := func() error { return config.Validate(&s.log, &s.kafka, &s.codec, &s.replay) }
	if code, ok := config.Setup(fs, args, stdout, stderr, validate); !ok {
		return code
	}
	logCfg, kafkaCfg, codecCfg, cfg := s.log, s.kafka, s.codec, s.replay
	log, err := logging.New(logCfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "replay:", err)
		return 2
	}
	defer func() { _ = log.Sync() }()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := kafkaCfg.Check(ctx); err != nil {
		log.Error("cannot use the Kafka cluster", logging.Err(err))
		return kafkaconn.ExitCode(err)
	}
	series, err := cfg.Load()
	if err != nil {
		log.Error("loading series failed", logging.Err(err))
		return 2
	}
	codec, err := avrocodec.Open(codecCfg, log)
	if err != nil {
		log.Error("codec", logging.Err(err))
		return 2
	}
	defer codec.Close()
	t := kafkaCfg.Transport()
	w := kafkaCfg.Writer(t, nil, kafkaconn.DefaultLinger)
	defer func() { _ = w.Close() }()

	if _, err := replay.Run(ctx, cfg, series, codec, w, log); err != nil {
		log.Error("replay failed", logging.Err(err))
		return 1
	}
	return 0
}

// Command replay publishes sensor readings to Kafka: CSV files (NAB layout
// or with a series column) or synthetic series, Avro-encoded, at a chosen
// rate. It is Vigil's load generator, and a way to test a topic.
//
//	replay -kafka.brokers=127.0.0.1:19092 -replay.topic=sensors \
//	       -replay.files=testdata/nab/data -replay.rate=2000
//
// Every flag can also be set by its VIGIL_… environment variable.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/vigil-stream/vigil/internal/avrocodec"
	"github.com/vigil-stream/vigil/internal/config"
	"github.com/vigil-stream/vigil/internal/kafkaconn"
	"github.com/vigil-stream/vigil/internal/logging"
	"github.com/vigil-stream/vigil/internal/replay"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	var (
		logCfg   logging.Config
		kafkaCfg kafkaconn.Config
		codecCfg avrocodec.Config
		cfg      replay.Config
	)
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	logCfg.RegisterFlags(fs)
	kafkaCfg.RegisterFlags(fs, "kafka.")
	codecCfg.RegisterFlags(fs)
	cfg.RegisterFlags(fs)
	if err := config.Parse(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "replay:", err)
		return 2
	}
	if err := config.Validate(&logCfg, &kafkaCfg, &codecCfg, &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "replay:", err)
		return 2
	}
	log, err := logging.New(logCfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "replay:", err)
		return 2
	}
	defer func() { _ = log.Sync() }()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	series, err := cfg.Load()
	if err != nil {
		log.Error("loading series failed", logging.Err(err))
		return 2
	}
	var reg avrocodec.Registry
	if codecCfg.RegistryURL != "" {
		rc, err := avrocodec.NewRegistryClient(codecCfg, nil, log)
		if err != nil {
			log.Error("schema registry client", logging.Err(err))
			return 2
		}
		reg = rc
	}
	codec, err := avrocodec.New(codecCfg, reg, log)
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

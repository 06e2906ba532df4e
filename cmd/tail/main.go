// Command tail follows Vigil's anomaly events topic and prints each event
// in a readable form: series, time, value against the expected one, score
// and the reason.
//
//	tail -kafka.brokers=127.0.0.1:19092 -tail.topic=vigil.anomalies -tail.from-start
//
// Every flag can also be set by its VIGIL_… environment variable.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/vigil-stream/vigil/internal/avrocodec"
	"github.com/vigil-stream/vigil/internal/config"
	"github.com/vigil-stream/vigil/internal/kafkaconn"
	"github.com/vigil-stream/vigil/internal/logging"
	"github.com/vigil-stream/vigil/internal/tail"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	var (
		kafkaCfg kafkaconn.Config
		codecCfg avrocodec.Config
		cfg      tail.Config
	)
	fs := flag.NewFlagSet("tail", flag.ContinueOnError)
	kafkaCfg.RegisterFlags(fs, "kafka.")
	codecCfg.RegisterFlags(fs)
	cfg.RegisterFlags(fs)
	validate := func() error { return config.Validate(&kafkaCfg, &codecCfg, &cfg) }
	if code, ok := config.Setup(fs, args, os.Stdout, os.Stderr, validate); !ok {
		return code
	}
	log, err := logging.New(logging.Config{Level: "warn", Format: "auto"}, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tail:", err)
		return 2
	}
	codec, err := avrocodec.Open(codecCfg, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tail:", err)
		return 2
	}
	defer codec.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := kafkaCfg.Check(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "tail: cannot use the Kafka cluster:", err)
		return kafkaconn.ExitCode(err)
	}
	if err := tail.Run(ctx, cfg, kafkaCfg.Dialer(), kafkaCfg.Brokers, codec, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tail:", err)
		return 1
	}
	return 0
}

package stream_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/vigil-stream/vigil/internal/kafkatest"
	"github.com/vigil-stream/vigil/internal/stream"
)

// The crash tests re-execute the test binary as a consumer process, so that
// it can be killed with SIGKILL: envChild names the processor to run.
const (
	envChild     = "VIGIL_STREAM_TEST_CHILD"
	envChildArgs = "VIGIL_STREAM_TEST_ARGS" // in, out, dlq, changelog, partitions, group
)

func brokersFromEnv() []string {
	return strings.Split(os.Getenv(kafkatest.EnvBrokers), ",")
}

// runChild runs the consumer when the binary was started as a child and
// reports whether it did.
func runChild() bool {
	kind := os.Getenv(envChild)
	if kind == "" {
		return false
	}
	var tp topics
	var group string
	if _, err := fmt.Sscan(os.Getenv(envChildArgs), &tp.in, &tp.out, &tp.dlq, &tp.changelog, &tp.partitions, &group); err != nil {
		fmt.Fprintln(os.Stderr, "child args:", err)
		os.Exit(2)
	}
	cfg, conn := testConfig(tp, group)
	var factory stream.ProcessorFactory
	switch kind {
	case "sum":
		factory = sumFactory{out: tp.out, delay: 2 * time.Millisecond}
	default:
		fmt.Fprintln(os.Stderr, "unknown child kind", kind)
		os.Exit(2)
	}
	logger, _ := zap.NewDevelopment()
	c, err := stream.New(cfg, conn, factory, logger, prometheus.NewRegistry())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := c.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "run:", err)
		os.Exit(1)
	}
	os.Exit(0)
	return true
}

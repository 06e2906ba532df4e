package stream_test

import (
	"context"
	"encoding/json"
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
// it can be killed with SIGKILL. envChild holds the childSpec as JSON.
const envChild = "VIGIL_STREAM_TEST_CHILD"

// childSpec says what a child consumer runs.
type childSpec struct {
	Kind     string // sum or detect
	Topics   topics
	Group    string
	ModelDir string // detect: the model store
}

func brokersFromEnv() []string {
	return strings.Split(os.Getenv(kafkatest.EnvBrokers), ",")
}

// runChild runs the consumer when the binary was started as a child and
// reports whether it did.
func runChild() bool {
	raw := os.Getenv(envChild)
	if raw == "" {
		return false
	}
	var spec childSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "child spec:", err)
		os.Exit(2)
	}
	logger, _ := zap.NewDevelopment()
	reg := prometheus.NewRegistry()
	cfg, conn := testConfig(spec.Topics, spec.Group)
	var factory stream.ProcessorFactory
	switch spec.Kind {
	case "sum":
		factory = sumFactory{out: spec.Topics.Out, delay: 2 * time.Millisecond}
	case "detect":
		d, err := newDetection(spec.ModelDir, spec.Topics, logger, reg)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		factory = d
	default:
		fmt.Fprintln(os.Stderr, "unknown child kind", spec.Kind)
		os.Exit(2)
	}
	c, err := stream.New(cfg, conn, factory, logger, reg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	err = c.Run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "run:", err)
		os.Exit(1)
	}
	os.Exit(0)
	return true
}

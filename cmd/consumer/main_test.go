package main_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/vigil-stream/vigil/internal/avrocodec"
	"github.com/vigil-stream/vigil/internal/kafkatest"
	"github.com/vigil-stream/vigil/internal/modeltest"
	"github.com/vigil-stream/vigil/internal/replay"
)

// build compiles the consumer binary once per test.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "consumer")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type proc struct {
	cmd *exec.Cmd
	out bytes.Buffer
}

func start(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...)}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	return p
}

// term sends SIGTERM and returns the exit code and how long the exit took.
func (p *proc) term(t *testing.T, limit time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), time.Since(start)
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, time.Since(start)
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		t.Fatalf("no exit within %v of SIGTERM:\n%s", limit, p.out.String())
	}
	return -1, 0
}

// TestSIGTERMDrainsAndLosesNothing stops the consumer binary with SIGTERM
// mid-stream, restarts it, and requires a clean exit each time, every
// reading scored exactly once (a clean shutdown commits what it published),
// and nothing dead-lettered.
func TestSIGTERMDrainsAndLosesNothing(t *testing.T) {
	in := kafkatest.Topic(t, "sensors", 3)
	events := kafkatest.Topic(t, "anomalies", 3)
	scores := kafkatest.Topic(t, "scores", 3)
	dlq := kafkatest.Topic(t, "dlq", 1)
	state := kafkatest.Topic(t, "state", 3, kafkatest.WithConfig("cleanup.policy", "compact"))
	group := kafkatest.Name(t, "group")
	bin := build(t)

	codec, err := avrocodec.New(avrocodec.DefaultConfig(), nil, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer codec.Close()
	w := kafkatest.Writer(t)
	w.BatchSize = 100
	series := replay.Synthetic(200, 150, modeltest.Start, time.Minute, 3)
	total, err := replay.Run(context.Background(), replay.Config{Topic: in}, series, codec, w, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	args := []string{
		"-kafka.brokers=" + os.Getenv(kafkatest.EnvBrokers),
		"-stream.topics=" + in, "-stream.events-topic=" + events, "-stream.scores-topic=" + scores,
		"-stream.dlq-topic=" + dlq, "-stream.changelog-topic=" + state, "-stream.group=" + group,
		"-stream.checkpoint-interval=300ms", "-stream.fetch-max-bytes=8192", "-stream.session-timeout=2s",
		"-stream.heartbeat-interval=500ms", "-stream.shutdown-timeout=10s",
		"-models.dir=" + modeltest.StoreDir(t), "-admin.addr=127.0.0.1:0", "-log.level=info",
	}
	for round := range 2 {
		p := start(t, bin, args...)
		if round == 0 {
			deadline := time.Now().Add(2 * time.Minute)
			for kafkatest.EndOffsets(t, scores) < int64(total/3) {
				if time.Now().After(deadline) {
					t.Fatalf("no progress:\n%s", p.out.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
		} else {
			kafkatest.WaitCommitted(t, group, in, 2*time.Minute)
		}
		code, took := p.term(t, 30*time.Second)
		t.Logf("round %d: exit %d %v after SIGTERM, %d score records so far", round+1, code, took.Round(time.Millisecond), kafkatest.EndOffsets(t, scores))
		if code != 0 || !strings.Contains(p.out.String(), "consumer stopped cleanly") {
			t.Fatalf("exit code %d after SIGTERM:\n%s", code, p.out.String())
		}
	}
	seen := map[[2]int64]int{}
	for _, m := range kafkatest.ReadAll(t, scores) {
		s, err := codec.DecodeScore(context.Background(), m.Value)
		if err != nil {
			t.Fatal(err)
		}
		seen[[2]int64{int64(s.Provenance.Partition), s.Provenance.Offset}]++
	}
	if len(seen) != total {
		t.Fatalf("%d readings scored, %d produced", len(seen), total)
	}
	for k, n := range seen {
		if n != 1 {
			t.Fatalf("reading %v scored %d times", k, n)
		}
	}
	if n := kafkatest.EndOffsets(t, dlq); n != 0 {
		t.Fatalf("%d dead letters from clean input", n)
	}
}

// TestMisconfiguredKafkaFailsFast: a plaintext consumer pointed at a TLS
// listener is a configuration error (exit 2), a closed port an unreachable
// cluster (exit 1); both within seconds, not a consumer group retrying
// forever.
func TestMisconfiguredKafkaFailsFast(t *testing.T) {
	tlsBrokers := os.Getenv("VIGIL_KAFKA_TLS_BROKERS")
	if testing.Short() {
		t.Skip("skipped under -short: needs the test broker's TLS listener")
	}
	if tlsBrokers == "" {
		t.Fatal("VIGIL_KAFKA_TLS_BROKERS is not set: make test exports it (scripts/kafka.sh tls-env)")
	}
	bin := build(t)
	tests := []struct {
		name, brokers string
		code          int
		says          string
	}{
		{"plaintext to TLS", tlsBrokers, 2, "tls"},
		{"closed port", "127.0.0.1:1", 1, "unreachable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			p := start2(t, bin, "-kafka.brokers="+tc.brokers, "-kafka.dial-timeout=3s", "-models.dir="+t.TempDir(), "-admin.addr=", "-log.format=json")
			err := p.cmd.Wait()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			}
			if code != tc.code || !strings.Contains(strings.ToLower(p.out.String()), tc.says) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%s", code, tc.code, tc.says, p.out.String())
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Fatalf("took %v", d)
			}
		})
	}
}

// start2 starts the binary without registering a kill at cleanup (the
// process exits by itself).
func start2(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...)}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return p
}

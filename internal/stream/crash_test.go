package stream_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-stream/vigil/internal/kafkatest"
)

// child is a consumer running in its own process.
type child struct {
	cmd *exec.Cmd
	out bytes.Buffer
}

// startChild re-executes the test binary as a consumer of the given kind.
func startChild(t *testing.T, kind string, tp topics, group string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(os.Args[0], "-test.run=^$")}
	c.cmd.Env = append(os.Environ(),
		envChild+"="+kind,
		fmt.Sprintf("%s=%s %s %s %s %d %s", envChildArgs, tp.in, tp.out, tp.dlq, tp.changelog, tp.partitions, group))
	c.cmd.Stdout = &c.out
	c.cmd.Stderr = &c.out
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	return c
}

func (c *child) kill(t *testing.T) {
	t.Helper()
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	_ = c.cmd.Wait()
}

// stop sends SIGTERM and requires a clean exit within d.
func (c *child) stop(t *testing.T, d time.Duration) {
	t.Helper()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("consumer exited with %v after SIGTERM; its output:\n%s", err, tail(c.out.String(), 4000))
		}
	case <-time.After(d):
		_ = c.cmd.Process.Kill()
		<-done
		t.Fatalf("consumer did not exit within %v of SIGTERM; its output:\n%s", d, tail(c.out.String(), 4000))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// TestKillRecoverySum kills a consumer process with SIGKILL at random
// moments and restarts it; the final outputs must be exactly those of an
// uninterrupted run (checked record by record against the input).
func TestKillRecoverySum(t *testing.T) {
	tp := newTopics(t, 4)
	const n, series = 40000, 100
	group := kafkatest.Name(t, "group")
	rng := rand.New(rand.NewPCG(1, 2))
	produceSums(t, tp.in, series, n)
	// Kill at random points of progress: after a random share of the
	// outputs has appeared, so that every kill lands mid-stream.
	kills := 0
	var last int64
	for _, share := range sortedShares(rng, 3) {
		c := startChild(t, "sum", tp, group)
		last = max(int64(share*n), last+500)
		waitOutputs(t, tp.out, last, 90*time.Second)
		time.Sleep(time.Duration(rng.IntN(100)) * time.Millisecond)
		c.kill(t)
		kills++
		t.Logf("kill %d at %d outputs", kills, kafkatest.EndOffsets(t, tp.out))
	}
	c := startChild(t, "sum", tp, group)
	kafkatest.WaitCommitted(t, group, tp.in, 90*time.Second)
	c.stop(t, 30*time.Second)
	distinct, dups := checkSums(t, tp)
	t.Logf("%d kills: %d distinct outputs, %d duplicates", kills, distinct, dups)
}

// sortedShares returns k increasing random shares in (0.1, 0.8).
func sortedShares(rng *rand.Rand, k int) []float64 {
	s := make([]float64, k)
	for i := range s {
		s[i] = 0.1 + 0.7*rng.Float64()
	}
	slices.Sort(s)
	return s
}

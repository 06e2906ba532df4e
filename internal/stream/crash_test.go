package stream_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
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
func startChild(t *testing.T, spec childSpec) *child {
	t.Helper()
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: exec.Command(os.Args[0], "-test.run=^$")}
	c.cmd.Env = append(os.Environ(), envChild+"="+string(raw))
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
	produceSums(t, tp.In, series, n)
	// Kill at random points of progress: after a random share of the
	// outputs has appeared, so that every kill lands mid-stream.
	kills := 0
	var last int64
	for _, share := range sortedShares(rng, 3) {
		c := startChild(t, childSpec{Kind: "sum", Topics: tp, Group: group})
		last = max(int64(share*n), last+500)
		waitOutputs(t, tp.Out, last, 90*time.Second)
		time.Sleep(time.Duration(rng.IntN(100)) * time.Millisecond)
		c.kill(t)
		kills++
		last = kafkatest.EndOffsets(t, tp.Out)
		t.Logf("kill %d at %d outputs", kills, last)
	}
	c := startChild(t, childSpec{Kind: "sum", Topics: tp, Group: group})
	kafkatest.WaitCommitted(t, group, tp.In, 90*time.Second)
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

// TestCrashRecovery runs readings of many series through a consumer process
// that is killed with SIGKILL at five random moments and restarted, and
// compares every decision and event id with an uninterrupted run.
func TestCrashRecovery(t *testing.T) {
	series, length := seriesCount(t)
	ref := detectTopics(t, 4)
	total := produceSynthetic(t, ref.In, series, length)
	dir := testModelDir(t)
	start := time.Now()
	runInProcess(t, ref, kafkatest.Name(t, "reference"))
	t.Logf("uninterrupted run: %d readings of %d series in %v", total, series, time.Since(start).Round(time.Millisecond))

	tp := sameInput(t, ref)
	group := kafkatest.Name(t, "crashing")
	spec := childSpec{Kind: "detect", Topics: tp, Group: group, ModelDir: dir}
	rng := rand.New(rand.NewPCG(5, 8))
	var last int64
	start = time.Now()
	for i, share := range sortedShares(rng, 5) {
		c := startChild(t, spec)
		last = max(int64(share*float64(total)), last+int64(total/50))
		waitOutputs(t, tp.Scores, last, 5*time.Minute)
		time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond)
		c.kill(t)
		last = kafkatest.EndOffsets(t, tp.Scores)
		t.Logf("SIGKILL %d after %d score records", i+1, last)
	}
	c := startChild(t, spec)
	kafkatest.WaitCommitted(t, group, tp.In, 5*time.Minute)
	c.stop(t, 30*time.Second)
	t.Logf("run with 5 kills: %v", time.Since(start).Round(time.Millisecond))
	compareRuns(t, ref, tp, total)
}

// TestTakeover runs two consumer processes in one group, kills one with
// SIGKILL mid-stream and lets the other take over its partitions; the
// result must equal an uninterrupted run.
func TestTakeover(t *testing.T) {
	series, length := seriesCount(t)
	ref := detectTopics(t, 4)
	total := produceSynthetic(t, ref.In, series, length)
	dir := testModelDir(t)
	runInProcess(t, ref, kafkatest.Name(t, "reference"))

	tp := sameInput(t, ref)
	group := kafkatest.Name(t, "pair")
	spec := childSpec{Kind: "detect", Topics: tp, Group: group, ModelDir: dir}
	start := time.Now()
	a := startChild(t, spec)
	b := startChild(t, spec)
	waitOutputs(t, tp.Scores, int64(total*2/5), 5*time.Minute)
	a.kill(t)
	t.Logf("killed one of two consumers after %d score records", kafkatest.EndOffsets(t, tp.Scores))
	kafkatest.WaitCommitted(t, group, tp.In, 5*time.Minute)
	b.stop(t, 30*time.Second)
	t.Logf("takeover run: %v", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(b.out.String(), "joined consumer group generation") {
		t.Fatal("the surviving consumer never joined")
	}
	compareRuns(t, ref, tp, total)
}

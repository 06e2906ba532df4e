package model

import (
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestArchitectureEval is the comparison that chose the default
// architecture (recorded in testdata/architecture.md). It is slow (minutes)
// and runs only with VIGIL_ARCH_EVAL=1:
//
//	VIGIL_ARCH_EVAL=1 go test -run TestArchitectureEval -v -timeout 1h ./internal/model
//
// Every architecture is trained with the same default settings and seed on
// each file and scored on the file's validation part (its last
// ValFraction, never seen in training) by
//
//   - the validation MSE in scaled units (what early stopping minimises), and
//   - the validation mean absolute error relative to that of the naive
//     forecast ŷ_{t+1} = y_t over the same readings (a MASE-like ratio; < 1
//     beats persistence), which is comparable across files.
//
// Optional: VIGIL_ARCH_EVAL_ARCHS="16;32;64;32,32;64,64",
// VIGIL_ARCH_EVAL_FILES (comma-separated paths under testdata/nab/data),
// VIGIL_ARCH_EVAL_BT="batch,seqlen", VIGIL_ARCH_EVAL_LR, VIGIL_ARCH_EVAL_EPOCHS,
// VIGIL_ARCH_EVAL_SEED.
func TestArchitectureEval(t *testing.T) {
	if os.Getenv("VIGIL_ARCH_EVAL") != "1" {
		t.Skip("set VIGIL_ARCH_EVAL=1 to run the architecture comparison")
	}
	archs := [][]int{{16}, {32}, {64}, {32, 32}, {64, 64}}
	if v := os.Getenv("VIGIL_ARCH_EVAL_ARCHS"); v != "" {
		archs = nil
		for _, a := range strings.Split(v, ";") {
			var l intList
			if err := l.Set(a); err != nil {
				t.Fatal(err)
			}
			archs = append(archs, l)
		}
	}
	files := []string{
		"realKnownCause/nyc_taxi.csv",
		"realKnownCause/ambient_temperature_system_failure.csv",
		"realKnownCause/ec2_request_latency_system_failure.csv",
	}
	if v := os.Getenv("VIGIL_ARCH_EVAL_FILES"); v != "" {
		files = strings.Split(v, ",")
	}
	base := DefaultTrainConfig()
	if v := os.Getenv("VIGIL_ARCH_EVAL_BT"); v != "" {
		parts := strings.Split(v, ",")
		base.Batch, _ = strconv.Atoi(parts[0])
		base.SeqLen, _ = strconv.Atoi(parts[1])
	}
	if v := os.Getenv("VIGIL_ARCH_EVAL_LR"); v != "" {
		base.LR, _ = strconv.ParseFloat(v, 64)
	}
	if v := os.Getenv("VIGIL_ARCH_EVAL_EPOCHS"); v != "" {
		base.Epochs, _ = strconv.Atoi(v)
	}
	if v := os.Getenv("VIGIL_ARCH_EVAL_SEED"); v != "" {
		base.Seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("settings: batch %d, seq-len %d, lr %g, epochs ≤ %d, patience %d, clip %g, val-fraction %g, calendar %v, seed %d",
		base.Batch, base.SeqLen, base.LR, base.Epochs, base.Patience, base.ClipNorm, base.ValFraction, base.Calendar, base.Seed)
	var lines []string
	lines = append(lines, "| hidden | "+strings.Join(shortNames(files), " | ")+" | mean rel. MAE | s/epoch |")
	for _, h := range archs {
		cfg := base
		cfg.Hidden = h
		var cells []string
		var relSum, secs float64
		var epochs int
		for _, f := range files {
			s := loadNAB(t, f, 0)
			start := time.Now()
			_, _, rep, err := Train(context.Background(), cfg, []Series{s}, nil, nil)
			if err != nil {
				t.Fatalf("%v on %s: %v", h, f, err)
			}
			secs += time.Since(start).Seconds()
			epochs += rep.Epochs
			naive := naiveMAE(s, rep.Series[0].ValStart)
			rel := rep.ValErrors.Mean / naive
			relSum += rel
			cells = append(cells, fmt.Sprintf("%.4f / %.3f (ep %d)", rep.ValLoss, rel, rep.BestEpoch))
		}
		line := fmt.Sprintf("| %s | %s | %.3f | %.2f |", (*intList)(&h).String(), strings.Join(cells, " | "), relSum/float64(len(files)), secs/float64(epochs))
		t.Log(line)
		lines = append(lines, line)
	}
	t.Log("\n" + strings.Join(lines, "\n"))
}

// naiveMAE is the mean absolute error of the persistence forecast
// ŷ_{t+1} = y_t over the readings from valStart on.
func naiveMAE(s Series, valStart int) float64 {
	var sum float64
	for i := valStart; i < len(s.Values); i++ {
		sum += math.Abs(s.Values[i] - s.Values[i-1])
	}
	return sum / float64(len(s.Values)-valStart)
}

func shortNames(files []string) []string {
	out := make([]string, len(files))
	for i, f := range files {
		f = f[strings.LastIndex(f, "/")+1:]
		out[i] = strings.TrimSuffix(f, ".csv") + " (val MSE / rel. MAE)"
	}
	return out
}

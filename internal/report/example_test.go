package report

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var exampleOut = flag.String("out", "", "TestWriteExample writes an example report (and its first figures as PNG) to this path")

// TestWriteExample writes a report of realistic synthetic data for people
// to look at:
//
//	go test ./internal/report -run TestWriteExample -args -out=/tmp/vigil-report.html
//
// Without -out it renders to a temporary directory and only checks that
// the file is there.
func TestWriteExample(t *testing.T) {
	path := *exampleOut
	if path == "" {
		path = filepath.Join(t.TempDir(), "example.html")
	}
	r := synthRun(5, 4, 2016)
	if *exampleOut == "" {
		r = synthRun(1, 2, 2016) // keep the plain test run quick
	}
	if err := WriteFile(path, r); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", path, fi.Size())
	if *exampleOut == "" {
		return
	}
	// The figures on their own too, for a quick look.
	d := prepare(&r.Models[0].Series[1])
	b, err := seriesFigure(&d)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".series.png", b, 0o644); err != nil {
		t.Fatal(err)
	}
	b, _, err = lossFigure(&r.Models[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".loss.png", b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// ExampleWriteFile shows what the trainer fills in: the run, and per model
// its decision, figures, loss curve and series with their validation
// slices.
func ExampleWriteFile() {
	start := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
	times := make([]time.Time, 288)
	actual := make([]float64, len(times))
	predicted := make([]float64, len(times))
	for i := range times {
		times[i] = start.Add(time.Duration(i-len(times)) * 5 * time.Minute)
		actual[i] = 20 + math.Sin(float64(i)/20)
		predicted[i] = 20 + math.Sin(float64(i-1)/20)
	}
	run := &Run{
		Title:    "Vigil nightly training",
		Started:  start,
		Finished: start.Add(14 * time.Minute),
		Source:   "kafka topic sensors (2026-10-28 to 2026-11-27)",
		Settings: []KV{{Key: "Architecture", Value: "LSTM 2×64"}},
		Models: []Model{{
			Name:       "boiler-7",
			Version:    42,
			Decision:   DecisionPromoted,
			Reason:     "challenger val MAE 0.21 vs champion 0.25",
			Champion:   &Metrics{ValMAE: 0.25, ValRMSE: 0.31, FalseAlarmsPerDay: 0.6},
			Challenger: &Metrics{ValMAE: 0.21, ValRMSE: 0.27, FalseAlarmsPerDay: 0.4},
			Loss:       []Epoch{{Train: 0.9, Validation: 1.0}, {Train: 0.3, Validation: 0.4}},
			BestEpoch:  2,
			Series: []Series{{
				ID: "boiler-7/temp", Readings: 8640, Used: 8500,
				From: start.Add(-30 * 24 * time.Hour), To: start,
				ValMAE: 0.21, Times: times, Actual: actual, Predicted: predicted,
			}},
		}},
	}
	path := filepath.Join(os.TempDir(), "vigil-training-report.html")
	if err := WriteFile(path, run); err != nil {
		fmt.Println(err)
	}
}

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/vigil-stream/vigil/internal/backtest"
	"github.com/vigil-stream/vigil/internal/config"
	"github.com/vigil-stream/vigil/internal/logging"
)

// runBacktest is `trainer backtest`.
func runBacktest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var (
		logCfg logging.Config
		cfg    backtest.Config
		sum    string
	)
	fs := flag.NewFlagSet("trainer backtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	logCfg.RegisterFlags(fs)
	cfg.RegisterFlags(fs)
	fs.StringVar(&sum, "summary", "", "Write the JSON summary to this file instead of stdout.")
	if code, ok := parse(fs, args, stdout, stderr, &logCfg, &cfg); !ok {
		return code
	}
	log, err := logging.New(logCfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "trainer backtest:", err)
		return exitUsage
	}
	defer func() { _ = log.Sync() }()
	res, err := backtest.Run(ctx, cfg, log)
	if err != nil {
		log.Error("backtest failed", logging.Err(err))
		return exitFailure
	}
	printBacktest(stderr, res)
	return writeSummary(sum, stdout, backtestSummary(res), stderr)
}

func printBacktest(w io.Writer, res *backtest.Result) {
	fmt.Fprintf(w, "backtest: %d files in %s\n", len(res.Files), res.Duration.Round(1e6))
	if res.Scores == nil {
		return
	}
	fmt.Fprintf(w, "NAB scores over %d windows (normalised: 0 = detect nothing, 100 = perfect):\n", res.Windows)
	fmt.Fprintf(w, "  %-20s %10s %10s %12s\n", "profile", "optimised", "threshold", "is_anomaly")
	for i, r := range res.Scores.Optimized {
		fmt.Fprintf(w, "  %-20s %10.1f %10.4f %12.1f\n", r.Profile.Name, r.Normalized, r.Threshold, res.Scores.Flags[i].Normalized)
	}
}

type backtestFile struct {
	Key       string  `json:"key"`
	Rows      int     `json:"rows"`
	Probation int     `json:"probation"`
	Flagged   int     `json:"flagged"`
	Episodes  int     `json:"episodes"`
	Rejected  int     `json:"rejected"`
	ValMAE    float64 `json:"val_mae"`
	TrainSecs float64 `json:"train_seconds"`
}

type backtestScore struct {
	Profile    string  `json:"profile"`
	Normalized float64 `json:"normalized"`
	Raw        float64 `json:"raw"`
	Threshold  float64 `json:"threshold"`
	Detected   int     `json:"windows_detected"`
	Missed     int     `json:"windows_missed"`
	FP         int     `json:"false_positive_rows"`
	Flags      float64 `json:"is_anomaly_normalized"`
}

func backtestSummary(res *backtest.Result) any {
	out := struct {
		Command  string          `json:"command"`
		Seconds  float64         `json:"seconds"`
		Windows  int             `json:"windows"`
		Files    []backtestFile  `json:"files"`
		Profiles []backtestScore `json:"profiles,omitempty"`
	}{Command: "backtest", Seconds: res.Duration.Seconds(), Windows: res.Windows}
	for _, f := range res.Files {
		out.Files = append(out.Files, backtestFile{Key: f.Key, Rows: f.Rows, Probation: f.Probation, Flagged: f.Flagged,
			Episodes: f.Episodes, Rejected: f.Rejected, ValMAE: jsonNum(f.ValMAE), TrainSecs: f.TrainTime.Seconds()})
	}
	if res.Scores != nil {
		for i, r := range res.Scores.Optimized {
			out.Profiles = append(out.Profiles, backtestScore{Profile: r.Profile.Name, Normalized: r.Normalized, Raw: r.Raw,
				Threshold: r.Threshold, Detected: r.Detected, Missed: r.Missed, FP: r.FP, Flags: res.Scores.Flags[i].Normalized})
		}
	}
	return out
}

// writeSummary writes v as indented JSON to path, or to stdout when path
// is empty.
func writeSummary(path string, stdout io.Writer, v any, stderr io.Writer) int {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		fmt.Fprintln(stderr, "trainer: summary:", err)
		return exitFailure
	}
	b = append(b, '\n')
	if path == "" {
		_, _ = stdout.Write(b)
		return exitOK
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		fmt.Fprintln(stderr, "trainer: summary:", err)
		return exitFailure
	}
	return exitOK
}

// parse loads the configuration (args, VIGIL_ variables, the -config
// file; see config.Load) and validates the configs; ok is false with the
// exit code to return when the configuration is bad, help was asked for,
// or -print-config printed it (exit 0 when valid).
func parse(fs *flag.FlagSet, args []string, stdout, stderr io.Writer, cfgs ...config.Validator) (int, bool) {
	return config.Setup(fs, args, stdout, stderr, func() error { return config.Validate(cfgs...) })
}

// jsonNum maps NaN and infinities (which JSON cannot carry) to 0.
func jsonNum(x float64) float64 {
	if x != x || x > 1e308 || x < -1e308 {
		return 0
	}
	return x
}

// Command trainer rebuilds Vigil's models. Ops run it nightly:
//
//	trainer train     replay normal data (Kafka or files), train, compare with the
//	                  model in service and promote the better one
//	trainer rollback  promote an older version of a model again
//	trainer backtest  train on each NAB file's probationary part and run the
//	                  consumer's detection path over the file; NAB scores
//
// Exit codes: 0 success; 1 failure; 2 bad arguments or no data; 3 nothing
// promoted.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const (
	exitOK         = 0
	exitFailure    = 1
	exitUsage      = 2
	exitNoPromoted = 3
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: trainer <command> [flags]

commands:
  train      replay normal data (Kafka topics over a time range, or files), train,
             compare with the model in service and promote the better one
  rollback   promote an older version of a model again
  backtest   train on each NAB file's probationary part, run the consumer's
             detection path over the whole file, write result CSVs and NAB scores

Run 'trainer <command> -h' for the flags of a command.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "train":
		return runTrain(ctx, args[1:], stdout, stderr)
	case "rollback":
		return runRollback(ctx, args[1:], stdout, stderr)
	case "backtest":
		return runBacktest(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "trainer: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

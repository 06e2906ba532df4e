package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/vigil-stream/vigil/internal/kafkaconn"
	"github.com/vigil-stream/vigil/internal/modelstore"
)

// runRollback is `trainer rollback -model NAME [-version N]`.
func runRollback(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var (
		kafkaCfg kafkaconn.Config
		store    modelstore.Config
		name     string
		to       int64
	)
	fs := flag.NewFlagSet("trainer rollback", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kafkaCfg.RegisterFlags(fs, "kafka.")
	store.RegisterFlags(fs)
	fs.StringVar(&name, "model", "", "Model to roll back (required).")
	fs.Int64Var(&to, "version", 0, "Version to promote again; 0: the newest version older than the one in service.")
	if code, ok := parse(fs, args, stdout, stderr, &kafkaCfg, &store); !ok {
		return code
	}
	if name == "" {
		fmt.Fprintln(stderr, "trainer rollback: -model is required")
		return exitUsage
	}
	s, err := modelstore.Open(store)
	if err != nil {
		fmt.Fprintln(stderr, "trainer rollback:", err)
		return exitFailure
	}
	from, _ := s.CurrentVersion(name)
	v, err := s.Rollback(name, to)
	if err != nil {
		fmt.Fprintln(stderr, "trainer rollback:", err)
		return exitFailure
	}
	if store.Topic != "" {
		// Consumers following the model topic serve its last record.
		m, err := s.Load(name, v)
		if err == nil {
			w := kafkaCfg.Writer(kafkaCfg.Transport(), nil, kafkaconn.DefaultLinger)
			w.BatchBytes = 64 << 20
			err = modelstore.PublishTopic(ctx, w, store.Topic, m)
			_ = w.Close()
		}
		if err != nil {
			fmt.Fprintln(stderr, "trainer rollback: rolled back in the store, but not on the model topic:", err)
			return exitFailure
		}
	}
	b, _ := json.Marshal(map[string]any{"command": "rollback", "model": name, "from": from, "to": v})
	fmt.Fprintln(stdout, string(b))
	return exitOK
}

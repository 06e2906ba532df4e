// Package modeltest gives tests a small but real model: trained by the real
// training path on synthetic series, and published to a model store, so
// that tests of the consumer, the detection path and the trainer exercise
// the code operators run.
package modeltest

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/vigil-stream/vigil/internal/model"
	"github.com/vigil-stream/vigil/internal/modelstore"
	"github.com/vigil-stream/vigil/internal/replay"
)

// Start is the event time of the first synthetic training reading.
var Start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

var (
	once    sync.Once
	trained *model.Model
	dir     string
	err     error
)

// Model returns a 1×8 LSTM named "default", version 1, trained for three
// epochs on eight synthetic series (replay.Synthetic, seed 99, one reading
// a minute). It is trained once per test binary.
func Model(t testing.TB) *model.Model {
	t.Helper()
	load()
	if err != nil {
		t.Fatalf("test model: %v", err)
	}
	return trained
}

// StoreDir returns a model store directory holding Model as the promoted
// version of "default". It is shared by the tests of one binary (and the
// child processes they start) and removed by nobody: it lives in the
// system's temporary directory.
func StoreDir(t testing.TB) string {
	t.Helper()
	load()
	if err != nil {
		t.Fatalf("test model: %v", err)
	}
	return dir
}

func load() {
	once.Do(func() {
		cfg := model.DefaultTrainConfig()
		cfg.Hidden = []int{8}
		cfg.Epochs = 3
		series := replay.Synthetic(8, 600, Start, time.Minute, 99)
		net, sc, rep, e := model.Train(context.Background(), cfg, series, zap.NewNop(), nil)
		if e != nil {
			err = e
			return
		}
		if trained, err = model.FromTraining("default", 1, net, sc, rep, "test"); err != nil {
			return
		}
		if dir, err = os.MkdirTemp("", "vigil-test-models-"); err != nil {
			return
		}
		store, e := modelstore.Open(modelstore.Config{Dir: dir, Keep: 3})
		if e != nil {
			err = e
			return
		}
		_, err = store.Publish(trained)
	})
}

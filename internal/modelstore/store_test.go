package modelstore_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/vigil-stream/vigil/internal/kafkatest"
	"github.com/vigil-stream/vigil/internal/model"
	"github.com/vigil-stream/vigil/internal/modelstore"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, kafkatest.LeakOptions()...)
}

// tinyModel returns a small valid model with seeded random weights.
func tinyModel(t *testing.T, name string, version int64) *model.Model {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(version), 7))
	f := model.Features{Calendar: true}
	n := model.NewNetwork(f.Width(), []int{4}, 1)
	for _, l := range n.Layers {
		for i := range l.W {
			l.W[i] = float32(rng.NormFloat64() * 0.1)
		}
	}
	for i := range n.Head.W {
		n.Head.W[i] = float32(rng.NormFloat64() * 0.1)
	}
	m := &model.Model{
		Name: name, Version: version, Network: n, Features: f,
		Fallback: &model.Scaler{Center: []float64{10}, Spread: []float64{2}},
		Training: model.TrainingInfo{Created: time.Unix(1700000000, 0).UTC(), Series: []string{"s1"}},
	}
	if err := m.Validate(); err != nil {
		t.Fatalf("tiny model invalid: %v", err)
	}
	return m
}

func open(t *testing.T, keep int) *modelstore.Store {
	t.Helper()
	s, err := modelstore.Open(modelstore.Config{Dir: t.TempDir(), Keep: keep})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPublishRollbackPrune(t *testing.T) {
	s := open(t, 3)
	if _, err := s.Current("pumps"); !errors.Is(err, modelstore.ErrNotFound) {
		t.Fatalf("empty store: %v, want ErrNotFound", err)
	}
	for v := int64(1); v <= 5; v++ {
		next, err := s.NextVersion("pumps")
		if err != nil || next != v {
			t.Fatalf("NextVersion = %d, %v; want %d", next, err, v)
		}
		if _, err := s.Publish(tinyModel(t, "pumps", v)); err != nil {
			t.Fatalf("publish v%d: %v", v, err)
		}
	}
	vs, _ := s.Versions("pumps")
	if len(vs) != 3 || vs[0] != 3 || vs[2] != 5 {
		t.Fatalf("kept versions %v, want [3 4 5]", vs)
	}
	m, err := s.Current("pumps")
	if err != nil || m.Version != 5 {
		t.Fatalf("current = %v, %v; want v5", m, err)
	}
	if _, err := s.Publish(tinyModel(t, "pumps", 4)); err == nil {
		t.Fatal("publishing an older version must fail")
	}
	to, err := s.Rollback("pumps", 0)
	if err != nil || to != 4 {
		t.Fatalf("rollback = %d, %v; want 4", to, err)
	}
	if v, _ := s.CurrentVersion("pumps"); v != 4 {
		t.Fatalf("current after rollback = %d", v)
	}
	if _, err := s.Rollback("pumps", 1); !errors.Is(err, modelstore.ErrNotFound) {
		t.Fatalf("rollback to a pruned version: %v, want ErrNotFound", err)
	}
	// Publishing after a rollback keeps the promoted (older) version when pruning.
	if _, err := s.Rollback("pumps", 3); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Publish(tinyModel(t, "pumps", 6)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Publish(tinyModel(t, "pumps", 7)); err != nil {
		t.Fatal(err)
	}
	vs, _ = s.Versions("pumps")
	if len(vs) != 3 || vs[2] != 7 {
		t.Fatalf("kept versions %v", vs)
	}
}

func TestRollbackRefusesDamagedVersion(t *testing.T) {
	s := open(t, 5)
	for v := int64(1); v <= 2; v++ {
		if _, err := s.Publish(tinyModel(t, "fans", v)); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(s.Dir(), "fans", modelstore.FileName("fans", 1))
	b, _ := os.ReadFile(path)
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rollback("fans", 0); !errors.Is(err, model.ErrCorrupt) {
		t.Fatalf("rollback to a damaged artifact: %v, want ErrCorrupt", err)
	}
	if v, _ := s.CurrentVersion("fans"); v != 2 {
		t.Fatalf("a failed rollback changed CURRENT to v%d", v)
	}
}

func TestWatcherSwapsAndKeepsServingOnBadVersion(t *testing.T) {
	s := open(t, 5)
	if _, err := s.Publish(tinyModel(t, "pumps", 1)); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	w := modelstore.NewWatcher(s, time.Hour, zaptest.NewLogger(t), reg)
	if err := w.Poll(); err != nil {
		t.Fatal(err)
	}
	if m := w.Snapshot()["pumps"]; m == nil || m.Version != 1 {
		t.Fatalf("after first poll: %v", m)
	}
	before := w.Snapshot()

	if _, err := s.Publish(tinyModel(t, "pumps", 2)); err != nil {
		t.Fatal(err)
	}
	if err := w.Poll(); err != nil {
		t.Fatal(err)
	}
	if m := w.Snapshot()["pumps"]; m.Version != 2 {
		t.Fatalf("not swapped: v%d", m.Version)
	}
	if before["pumps"].Version != 1 {
		t.Fatal("an old snapshot changed under its reader")
	}

	// A damaged v3 is promoted: v2 keeps serving, the failure is counted once.
	if _, err := s.Publish(tinyModel(t, "pumps", 3)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(s.Dir(), "pumps", modelstore.FileName("pumps", 3))
	if err := os.Truncate(path, 100); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := w.Poll(); err != nil {
			t.Fatal(err)
		}
	}
	if m := w.Snapshot()["pumps"]; m.Version != 2 {
		t.Fatalf("serving v%d after a damaged v3, want v2", m.Version)
	}
	if got := testutil.ToFloat64(w.Failures().WithLabelValues("pumps")); got != 1 {
		t.Fatalf("load failures = %v, want 1", got)
	}
	// Rolling back to v2 and publishing a good v4 moves on.
	if _, err := s.Publish(tinyModel(t, "pumps", 4)); err != nil {
		t.Fatal(err)
	}
	if err := w.Poll(); err != nil {
		t.Fatal(err)
	}
	if m := w.Snapshot()["pumps"]; m.Version != 4 {
		t.Fatalf("serving v%d, want v4", m.Version)
	}
}

func mustSave(t *testing.T, m *model.Model) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := model.Save(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

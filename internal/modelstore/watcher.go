package modelstore

import (
	"context"
	"errors"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/vigil-stream/vigil/internal/model"
)

// Watcher keeps the promoted version of every model in a store loaded, and
// swaps in a newly promoted one (or a rolled-back one) on its next poll. A
// version that fails to load is logged and counted once, and the model in
// service keeps serving. Snapshot is safe for concurrent use and never
// blocks; Run must be called once.
type Watcher struct {
	store    *Store
	interval time.Duration
	log      *zap.Logger

	cur    atomic.Pointer[map[string]*model.Model]
	mu     sync.Mutex       // serialises polls
	failed map[string]int64 // name → version that failed to load

	modelMetrics
}

// modelMetrics are the model-serving metrics both watchers keep.
type modelMetrics struct {
	version  *prometheus.GaugeVec
	failures *prometheus.CounterVec
	swaps    *prometheus.CounterVec
}

func newModelMetrics(reg prometheus.Registerer) modelMetrics {
	m := modelMetrics{
		version: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vigil_model_version", Help: "Version of each model in service.",
		}, []string{"model"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_model_load_failures_total", Help: "Promoted model versions that could not be loaded (the previous version kept serving).",
		}, []string{"model"}),
		swaps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_model_swaps_total", Help: "Model versions swapped in without a restart.",
		}, []string{"model"}),
	}
	if reg != nil {
		reg.MustRegister(m.version, m.failures, m.swaps)
	}
	return m
}

// NewWatcher returns a watcher of store polling every interval. Call Poll
// once before serving to load the models synchronously.
func NewWatcher(store *Store, interval time.Duration, logger *zap.Logger, reg prometheus.Registerer) *Watcher {
	w := &Watcher{store: store, interval: interval, log: logger, failed: map[string]int64{}, modelMetrics: newModelMetrics(reg)}
	empty := map[string]*model.Model{}
	w.cur.Store(&empty)
	return w
}

// Snapshot returns the models in service by name. The map must not be
// modified; it is replaced, not changed, when a model is swapped.
func (w *Watcher) Snapshot() map[string]*model.Model { return *w.cur.Load() }

// Poll checks every model's promoted version once and loads what changed.
// It returns an error only when the store itself cannot be read.
func (w *Watcher) Poll() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	names, err := w.store.Names()
	if err != nil {
		return err
	}
	old := w.Snapshot()
	next := maps.Clone(old)
	changed := false
	for _, name := range names {
		v, err := w.store.CurrentVersion(name)
		if errors.Is(err, ErrNotFound) {
			continue // a folder without a promoted version yet
		}
		if err != nil {
			w.noteFailure(name, -1, err)
			continue
		}
		if m := old[name]; m != nil && m.Version == v {
			continue
		}
		if w.failed[name] == v {
			continue // already reported; wait for another version
		}
		m, err := w.store.Load(name, v)
		if err != nil {
			w.noteFailure(name, v, err)
			continue
		}
		delete(w.failed, name)
		if prev := old[name]; prev != nil {
			w.log.Info("model swapped in", zap.String("model", name), zap.Int64("from", prev.Version), zap.Int64("to", v))
			w.swaps.WithLabelValues(name).Inc()
		} else {
			w.log.Info("model loaded", zap.String("model", name), zap.Int64("version", v))
		}
		w.version.WithLabelValues(name).Set(float64(v))
		next[name] = m
		changed = true
	}
	if changed {
		w.cur.Store(&next)
	}
	return nil
}

func (w *Watcher) noteFailure(name string, version int64, err error) {
	w.failed[name] = version
	w.failures.WithLabelValues(name).Inc()
	w.log.Error("promoted model version rejected; the version in service keeps serving",
		zap.String("model", name), zap.Int64("version", version), zap.Error(err))
}

// Run polls every interval until ctx is cancelled. Errors reading the store
// are logged, not returned: a mount may come back.
func (w *Watcher) Run(ctx context.Context) error {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := w.Poll(); err != nil {
				w.log.Warn("model store poll failed", zap.Error(err))
			}
		}
	}
}

// Failures returns the load-failure counter, by model name.
func (w *Watcher) Failures() *prometheus.CounterVec { return w.failures }

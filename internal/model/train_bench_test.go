package model

import (
	"context"
	"testing"
	"time"
)

// BenchmarkTrainEpoch times one training epoch (forward, backward and Adam
// update of every segment of the training part; validation excluded) on
// NAB's nyc_taxi with the default architecture, batch and sequence length
// of DefaultTrainConfig, the single place those settings are kept. Its
// sub-benchmark "validate" times the per-epoch validation pass (the whole
// series at batch 1, as the consumer runs it) separately. Besides wall
// seconds per epoch it reports CPU seconds per epoch, which a loaded
// machine does not inflate.
//
//	go test -run '^$' -bench BenchmarkTrainEpoch -benchtime 5x ./internal/model
func BenchmarkTrainEpoch(b *testing.B) {
	cfg := DefaultTrainConfig()
	s := loadNAB(b, "realKnownCause/nyc_taxi.csv", 0)
	p, err := prepareSeries(s, cfg.Features(), cfg.ValFraction, cfg.Horizon)
	if err != nil {
		b.Fatal(err)
	}
	series := []*preparedSeries{p}
	b.Logf("hidden %v, batch %d (rows %d), seq-len %d, inputs %d, %d training steps per row, %d segments per epoch",
		cfg.Hidden, cfg.Batch, len(newTrainerChunks(series, cfg.Batch)), cfg.SeqLen, cfg.Features().Width(),
		(p.n0-1+cfg.Batch-1)/cfg.Batch, ((p.n0-1+cfg.Batch-1)/cfg.Batch+cfg.SeqLen-1)/cfg.SeqLen)
	b.Run("train", func(b *testing.B) {
		tr := newTrainer(cfg, series)
		ctx := context.Background()
		b.ResetTimer()
		cpu := processCPU()
		for i := range b.N {
			if _, err := tr.epoch(ctx, i+1); err != nil {
				b.Fatal(err)
			}
		}
		reportEpoch(b, processCPU()-cpu)
	})
	b.Run("validate", func(b *testing.B) {
		tr := newTrainer(cfg, series)
		ev := newEvaluator(tr.params, series, cfg.SeqLen)
		b.ResetTimer()
		cpu := processCPU()
		for range b.N {
			if _, err := ev.run(context.Background(), tr.params); err != nil {
				b.Fatal(err)
			}
		}
		reportEpoch(b, processCPU()-cpu)
	})
}

// reportEpoch reports wall seconds per epoch and, where measured, CPU
// seconds per epoch (all threads of the process: on a shared machine the
// wall figure includes waiting for a CPU, the CPU figure does not).
func reportEpoch(b *testing.B, cpu time.Duration) {
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/epoch")
	if cpu > 0 {
		b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/epoch")
	}
}

func newTrainerChunks(series []*preparedSeries, batch int) []chunk {
	c, _ := trainChunks(series, batch)
	return c
}

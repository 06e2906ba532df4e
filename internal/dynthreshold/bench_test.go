package dynthreshold

import (
	"runtime"
	"testing"
)

// BenchmarkObserve is the amortised cost of one reading, recomputations
// every 70 readings over h = 2100 included, in steady state.
func BenchmarkObserve(b *testing.B) {
	for _, rule := range allRules() {
		b.Run(string(rule), func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Rule = rule
			d := mustNew(b, cfg, testPrior())
			rs := synthetic(9, 1<<16)
			for _, r := range rs[:4200] {
				d.Observe(r)
			}
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			b.ReportAllocs()
			b.ResetTimer()
			cpu0, ok := threadCPU()
			for i := 0; i < b.N; i++ {
				if _, err := d.Observe(rs[i&(len(rs)-1)]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			// CPU time of this thread: the cost per reading whatever else
			// the machine is running (ns/op is wall time).
			if cpu1, ok1 := threadCPU(); ok && ok1 {
				b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
			}
		})
	}
}

func BenchmarkStateEncode(b *testing.B) {
	d := mustNew(b, DefaultConfig(), testPrior())
	for _, r := range synthetic(10, 2135) {
		d.Observe(r)
	}
	buf := make([]byte, 0, d.EncodedSize())
	b.ReportAllocs()
	b.SetBytes(int64(d.EncodedSize()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf, _ = d.AppendBinary(buf[:0])
	}
}

func BenchmarkStateDecode(b *testing.B) {
	d := mustNew(b, DefaultConfig(), testPrior())
	for _, r := range synthetic(10, 2135) {
		d.Observe(r)
	}
	blob, _ := d.MarshalBinary()
	e := mustNew(b, DefaultConfig(), testPrior())
	b.ReportAllocs()
	b.SetBytes(int64(len(blob)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := e.UnmarshalBinary(blob); err != nil {
			b.Fatal(err)
		}
	}
}

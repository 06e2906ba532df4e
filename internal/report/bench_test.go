package report

import (
	"io"
	"testing"
)

// BenchmarkWrite renders 100 series of 2,000 readings each (4 models of
// 25 series), every series drawn in detail.
func BenchmarkWrite(b *testing.B) {
	r := synthRun(4, 25, 2000)
	o := Options{MaxSeriesPlots: 100}
	b.ReportAllocs()
	for b.Loop() {
		cw := &countWriter{}
		if err := o.Write(cw, r); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(cw.n)/(1<<20), "MiB/report")
	}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return io.Discard.Write(p)
}

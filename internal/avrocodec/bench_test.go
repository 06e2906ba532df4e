package avrocodec

import (
	"testing"
	"time"

	"github.com/vigil-stream/vigil/internal/record"
)

// BenchmarkDecodeReading measures the consumer's hot path per framing, for a
// univariate reading (the common case) and a multivariate one with two
// fields and two tags. Writer schemas are cached before the timer starts.
func BenchmarkDecodeReading(b *testing.B) {
	reg := goldenRegistry(b)
	uni := record.Reading{SeriesID: "plant-3/pump-7/temperature", Time: time.UnixMicro(1773500966535897).UTC(), Value: 71.25}
	multi := sampleReading()
	for _, f := range []Framing{FramingConfluent, FramingSingleObject, FramingJSON} {
		enc := newCodec(b, withFraming(f), reg)
		dec := newCodec(b, nil, reg)
		for _, rc := range []struct {
			name string
			r    record.Reading
		}{{"univariate", uni}, {"multivariate", multi}} {
			payload, err := enc.EncodeReading(bg, nil, &rc.r)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := dec.DecodeReading(bg, payload); err != nil {
				b.Fatal(err)
			}
			b.Run(string(f)+"/"+rc.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(payload)))
				for b.Loop() {
					if _, err := dec.DecodeReading(bg, payload); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkEncodeEvent measures the output path per framing.
func BenchmarkEncodeEvent(b *testing.B) {
	reg := goldenRegistry(b)
	ev := sampleEvent()
	for _, f := range []Framing{FramingConfluent, FramingSingleObject, FramingJSON} {
		enc := newCodec(b, withFraming(f), reg)
		buf, err := enc.EncodeEvent(bg, nil, &ev)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(string(f), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if buf, err = enc.EncodeEvent(bg, buf[:0], &ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

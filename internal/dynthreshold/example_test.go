package dynthreshold_test

import (
	"fmt"
	"math"
	"time"

	"github.com/vigil-stream/vigil/internal/dynthreshold"
)

// A consumer keeps one Detector per series, feeds it every reading with the
// model's error, publishes the episode transitions and checkpoints the
// state.
func Example() {
	cfg := dynthreshold.DefaultConfig()
	prior := dynthreshold.Prior{Count: 5000, Mean: 0.10, Std: 0.02, P99: 0.15, P999: 0.17, Max: 0.18}
	d, err := dynthreshold.New(cfg, prior)
	if err != nil {
		panic(err)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 3000; i++ {
		e := 0.1 + 0.02*math.Sin(float64(i)/7) // the model's usual error
		if i >= 2500 && i < 2600 {
			e += 0.5 // a fault
		}
		dec, err := d.Observe(dynthreshold.Reading{Time: start.Add(time.Duration(i) * time.Minute), Value: math.Sin(float64(i) / 50), Error: e})
		if err != nil {
			continue // a NaN reading: skip it
		}
		if dec.Event == dynthreshold.EventOpened || dec.Event == dynthreshold.EventClosed {
			fmt.Printf("reading %d: episode %d %s (warm-up %v)\n", dec.Seq, dec.Episode.ID, dec.Event, dec.WarmUp)
		}
	}
	state, _ := d.MarshalBinary() // checkpoint with the consumer offset
	restored, _ := dynthreshold.New(cfg, prior)
	fmt.Println(restored.UnmarshalBinary(state) == nil, len(state) <= 10000)
	// Output:
	// reading 2502: episode 2502 opened (warm-up false)
	// reading 2751: episode 2502 closed (warm-up false)
	// true true
}

package avrocodec

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/vigil-stream/vigil/internal/record"
)

// TestScoreBodyMatchesGoavro checks the hand-written score encoder against
// goavro's encoding of the same record, on seeded random scores.
func TestScoreBodyMatchesGoavro(t *testing.T) {
	c, err := New(DefaultConfig(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	codec := c.current[typeScore].codec
	rng := rand.New(rand.NewPCG(4, 2))
	special := []float64{0, -0, 1, -1e300, 1e-300, math.SmallestNonzeroFloat64, 0.5}
	for i := range 2000 {
		f := func() float64 {
			if rng.IntN(4) == 0 {
				return special[rng.IntN(len(special))]
			}
			return rng.NormFloat64() * math.Pow(10, float64(rng.IntN(12)-6))
		}
		s := record.Score{
			SeriesID: strings.Repeat("é", rng.IntN(70)) + "x",
			Time:     time.UnixMicro(rng.Int64N(1<<52) - 1<<51),
			Value:    f(), Predicted: f(), SmoothedError: math.Abs(f()), Threshold: math.Abs(f()),
			Score:     rng.Float64(),
			Anomalous: rng.IntN(2) == 0, WarmUp: rng.IntN(2) == 0,
			ModelVersion: strings.Repeat("7", rng.IntN(3)),
			Provenance:   record.Provenance{Topic: "t" + strings.Repeat("p", rng.IntN(200)), Partition: rng.Int32N(1 << 20), Offset: rng.Int64N(1 << 62)},
		}
		want, err := codec.BinaryFromNative(nil, scoreNative(&s))
		if err != nil {
			t.Fatal(err)
		}
		if got := appendScoreBody(nil, &s); !bytes.Equal(got, want) {
			t.Fatalf("score %d: hand-written encoding differs from goavro's\n got %x\nwant %x", i, got, want)
		}
	}
}

package avrocodec

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-stream/vigil/internal/record"
	"github.com/vigil-stream/vigil/schemas"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden and the seed corpus in testdata/fuzz")

// staticRegistry is an in-memory Registry for tests and fuzzing that must
// not touch the network.
type staticRegistry map[int]string

var _ Registry = staticRegistry(nil)

func (s staticRegistry) SchemaByID(_ context.Context, id int) (string, error) {
	if t, ok := s[id]; ok {
		return t, nil
	}
	return "", fmt.Errorf("schema id %d: %w", id, ErrSchemaNotFound)
}

func (s staticRegistry) Register(ctx context.Context, subject, schema string) (int, error) {
	return s.Lookup(ctx, subject, schema)
}

func (s staticRegistry) Lookup(_ context.Context, subject, schema string) (int, error) {
	for id, t := range s {
		if t == schema {
			return id, nil
		}
	}
	return 0, fmt.Errorf("subject %s: %w", subject, ErrSchemaNotFound)
}

// goldenRegistry pins the Confluent ids the golden files use.
func goldenRegistry(t testing.TB) staticRegistry {
	return staticRegistry{
		1: schemas.Reading, 2: schemas.AnomalyEvent, 3: schemas.Score,
		10: readFixture(t, "reading_v0.avsc"), 12: readFixture(t, "reading_v2.avsc"),
	}
}

// goldenReading has one field and one tag so that its encoding does not
// depend on Go's map iteration order.
func goldenReading() record.Reading {
	return record.Reading{
		SeriesID: "plant-3/pump-7/temperature", Time: t0, Value: 71.25,
		Fields: map[string]float64{"pressure": 2.5}, Tags: map[string]string{"site": "north"},
		Quality: record.QualityUncertain,
	}
}

var goldenExt = map[Framing]string{FramingConfluent: "confluent.bin", FramingSingleObject: "single-object.bin", FramingJSON: "json"}

// TestGolden pins the wire bytes: encoding must reproduce the committed
// files exactly, and decoding them must give the records back. A change
// here is a wire-format change; run with -update only on purpose.
func TestGolden(t *testing.T) {
	reg := goldenRegistry(t)
	ev := sampleEvent()
	sc := sampleScore()
	for _, f := range []Framing{FramingConfluent, FramingSingleObject, FramingJSON} {
		c := newCodec(t, withFraming(f), reg)
		for _, tc := range []struct {
			name   string
			encode func() ([]byte, error)
			check  func([]byte) error
		}{
			{"reading", func() ([]byte, error) { return c.EncodeReading(bg, nil, ptr(goldenReading())) }, func(b []byte) error {
				got, err := c.DecodeReading(bg, b)
				if err == nil && (!got.Time.Equal(t0) || got.Fields["pressure"] != 2.5 || got.Quality != record.QualityUncertain) {
					err = fmt.Errorf("decoded %+v", got)
				}
				return err
			}},
			{"event", func() ([]byte, error) { return c.EncodeEvent(bg, nil, &ev) }, func(b []byte) error {
				got, err := c.DecodeEvent(bg, b)
				if err == nil && !eventsEqual(got, ev) {
					err = fmt.Errorf("decoded %+v", got)
				}
				return err
			}},
			{"score", func() ([]byte, error) { return c.EncodeScore(bg, nil, &sc) }, func(b []byte) error {
				got, err := c.DecodeScore(bg, b)
				if err == nil && (got.Provenance != sc.Provenance || !got.Time.Equal(sc.Time)) {
					err = fmt.Errorf("decoded %+v", got)
				}
				return err
			}},
		} {
			name := tc.name + "." + goldenExt[f]
			t.Run(name, func(t *testing.T) {
				path := filepath.Join("testdata", "golden", name)
				b, err := tc.encode()
				if err != nil {
					t.Fatal(err)
				}
				if *update {
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, b, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(b, want) {
					t.Fatalf("encoding changed:\n got %q\nwant %q", b, want)
				}
				if err := tc.check(want); err != nil {
					t.Fatalf("decode golden: %v", err)
				}
			})
		}
	}
}

// TestGoldenOlderWriters decodes committed payloads of the older and newer
// fixture schemas.
func TestGoldenOlderWriters(t *testing.T) {
	reg := goldenRegistry(t)
	c := newCodec(t, nil, reg)
	for _, s := range []int{10, 12} {
		if _, err := c.AddWriterSchema(reg[s]); err != nil {
			t.Fatal(err)
		}
	}
	v0 := map[string]any{"series_id": "old", "event_time": t0, "value": float32(1.5)}
	v2 := map[string]any{
		"series_id": "new", "sequence": int64(9), "event_time": t0, "value": 2.5,
		"unit":        map[string]any{"string": "degC"},
		"calibration": map[string]any{"offset": 0.1, "history": []any{1.0}, "checksum": []byte{1, 2, 3, 4}},
		"fields":      map[string]any{}, "tags": map[string]any{"k": "v"}, "quality": "MAINTENANCE",
	}
	files := map[string][]byte{
		"reading_v0.single-object.bin": soe(t, reg[10], v0),
		"reading_v0.confluent.bin":     confluent(t, 10, reg[10], v0),
		"reading_v2.single-object.bin": soe(t, reg[12], v2),
		"reading_v2.confluent.bin":     confluent(t, 12, reg[12], v2),
	}
	for name, b := range files {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", "golden", name)
			if *update {
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.DecodeReading(bg, want)
			if err != nil {
				t.Fatalf("DecodeReading: %v", err)
			}
			if got.Quality != record.QualityGood || got.Time.IsZero() || got.SeriesID == "" {
				t.Fatalf("decoded %+v", got)
			}
			if got.SeriesID == "old" && !got.Time.Equal(t0.Truncate(time.Millisecond)) {
				t.Fatalf("millisecond writer time %v", got.Time)
			}
		})
	}
}

// corpusFile renders b as a go test fuzz v1 corpus file.
func corpusFile(b []byte) []byte {
	return []byte("go test fuzz v1\n[]byte(" + strconv.Quote(string(b)) + ")\n")
}

package avrocodec

import (
	"context"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/vigil-stream/vigil/internal/record"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// countingTransport counts the HTTP requests that reach the registry.
type countingTransport struct {
	n    atomic.Int64
	base http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

// fakeRegistry starts an in-process Confluent registry and a RegistryClient
// on it whose requests are counted. Both are closed when t ends.
func fakeRegistry(t testing.TB) (*srfake.Registry, *RegistryClient, *countingTransport) {
	t.Helper()
	fake := srfake.New()
	tr := &countingTransport{base: &http.Transport{}}
	hc := &http.Client{Transport: tr}
	cfg := DefaultConfig()
	cfg.RegistryURL = fake.URL()
	cfg.RegistryTimeout = 2 * time.Second
	rc, err := NewRegistryClient(cfg, hc, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		hc.CloseIdleConnections()
		fake.Close()
	})
	return fake, rc, tr
}

func newCodec(t testing.TB, mut func(*Config), reg Registry) *Codec {
	t.Helper()
	cfg := DefaultConfig()
	if mut != nil {
		mut(&cfg)
	}
	var c *Codec
	var err error
	if tt, ok := t.(*testing.T); ok {
		c, err = New(cfg, reg, zaptest.NewLogger(tt))
	} else {
		c, err = New(cfg, reg, nil)
	}
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func withFraming(f Framing) func(*Config) {
	return func(c *Config) { c.Framing = f }
}

func readFixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// soe encodes native with schema text in single-object framing, bypassing
// the Codec (and its validation), as a foreign producer would.
func soe(t testing.TB, schema string, native map[string]any) []byte {
	t.Helper()
	c, err := goavro.NewCodec(schema)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.SingleFromNative(nil, native)
	if err != nil {
		t.Fatalf("SingleFromNative: %v", err)
	}
	return b
}

// confluent encodes native with schema in Confluent framing under id.
func confluent(t testing.TB, id int, schema string, native map[string]any) []byte {
	t.Helper()
	c, err := goavro.NewCodec(schema)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.BinaryFromNative([]byte{0, byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}, native)
	if err != nil {
		t.Fatalf("BinaryFromNative: %v", err)
	}
	return b
}

func seed(fake *srfake.Registry, subject string, version, id int, schema string) {
	fake.SeedSchema(subject, version, id, sr.Schema{Schema: schema, Type: sr.TypeAvro})
}

var t0 = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)

func sampleReading() record.Reading {
	return record.Reading{
		SeriesID: "plant-3/pump-7/temperature",
		Time:     t0,
		Value:    71.25,
		Fields:   map[string]float64{"pressure": 2.5, "rpm": 1480},
		Tags:     map[string]string{"site": "north", "fw": "1.4.2"},
		Quality:  record.QualityUncertain,
	}
}

func sampleEvent() record.Event {
	m := record.Model{Name: "lstm-2x64", Version: "2026-03-01.3"}
	start := t0.Add(-2 * time.Minute)
	ep := record.EpisodeID("plant-3/pump-7/temperature", start, m)
	return record.Event{
		ID:            record.EventID("plant-3/pump-7/temperature", ep, record.EventUpdated, t0, m),
		Kind:          record.EventUpdated,
		SeriesID:      "plant-3/pump-7/temperature",
		Time:          t0,
		DetectedAt:    t0.Add(40 * time.Millisecond),
		Value:         91.5,
		Predicted:     72.0,
		RawError:      19.5,
		SmoothedError: 11.2,
		Threshold:     6.4,
		Score:         0.87,
		Direction:     record.DirectionAbove,
		Episode: record.Episode{
			ID: ep, Start: start, PeakTime: t0, PeakValue: 91.5, PeakScore: 0.87, Readings: 3,
		},
		Model:      m,
		Provenance: record.Provenance{Topic: "vigil.readings", Partition: 4, Offset: 1234567},
		Explanation: record.Explanation{
			Z: 4.2, Mu: 2.1, Sigma: 2.17, PruningConsidered: true,
			Reason: "smoothed error 4.2 sigma above window mean",
		},
		Tags: map[string]string{"site": "north"},
	}
}

func sampleScore() record.Score {
	return record.Score{
		SeriesID: "plant-3/pump-7/temperature", Time: t0, Value: 71.25, Predicted: 70.9,
		SmoothedError: 0.4, Threshold: 6.4, Score: 0.02, Anomalous: false, WarmUp: true,
		ModelVersion: "2026-03-01.3",
		Provenance:   record.Provenance{Topic: "vigil.readings", Partition: 4, Offset: 1234568},
	}
}

var bg = context.Background()

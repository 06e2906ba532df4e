package avrocodec

import (
	"bytes"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-stream/vigil/internal/record"
	"github.com/vigil-stream/vigil/schemas"
)

func TestConfigDefaultsAndFlags(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if c.Framing != FramingSingleObject || c.InputFraming != FramingAuto || !c.AutoRegister ||
		c.RegistryTimeout != DefaultRegistryTimeout || c.MaxPayloadBytes != DefaultMaxPayloadBytes ||
		c.ReadingSubject != DefaultReadingSubject {
		t.Fatalf("defaults not installed: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	err := fs.Parse([]string{"-codec.framing=confluent", "-codec.registry-url=http://r:8081,http://r2:8081", "-codec.input-framing=json", "-codec.auto-register=false"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Framing != FramingConfluent || c.InputFraming != FramingJSON || c.AutoRegister || len(c.registryURLs()) != 2 {
		t.Fatalf("flags not applied: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("valid flags rejected: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mut  func(*Config)
		want string
	}{
		{"bad framing", func(c *Config) { c.Framing = "xml" }, "codec.framing"},
		{"auto is input only", func(c *Config) { c.Framing = FramingAuto }, "codec.framing"},
		{"bad input framing", func(c *Config) { c.InputFraming = "xml" }, "codec.input-framing"},
		{"registry url scheme", func(c *Config) { c.RegistryURL = "registry:8081" }, "http://"},
		{"timeout", func(c *Config) { c.RegistryTimeout = 0 }, "codec.registry-timeout"},
		{"negative ttl", func(c *Config) { c.RegistryNegativeTTL = -time.Second }, "codec.registry-negative-ttl"},
		{"subject", func(c *Config) { c.EventSubject = "" }, "codec.event-subject"},
		{"max payload", func(c *Config) { c.MaxPayloadBytes = 1 }, "codec.max-payload-bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mut(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want mention of %q", err, tc.want)
			}
		})
	}
}

// codecs returns one encoding codec per framing, all sharing a fake
// registry, plus an auto-detecting decoder on the same registry.
func codecs(t *testing.T) (map[Framing]*Codec, *Codec) {
	_, rc, _ := fakeRegistry(t)
	enc := map[Framing]*Codec{}
	for _, f := range []Framing{FramingConfluent, FramingSingleObject, FramingJSON} {
		enc[f] = newCodec(t, withFraming(f), rc)
	}
	return enc, newCodec(t, nil, rc)
}

func TestRoundTrip(t *testing.T) {
	enc, auto := codecs(t)
	minimal := record.Reading{SeriesID: "s", Time: time.UnixMicro(-1).UTC(), Value: -0.5}
	for f, c := range enc {
		t.Run(string(f), func(t *testing.T) {
			for _, want := range []record.Reading{sampleReading(), minimal} {
				b, err := c.EncodeReading(bg, nil, &want)
				if err != nil {
					t.Fatalf("EncodeReading: %v", err)
				}
				for name, dec := range map[string]*Codec{"same": c, "auto": auto} {
					got, err := dec.DecodeReading(bg, b)
					if err != nil {
						t.Fatalf("%s DecodeReading: %v", name, err)
					}
					assertReading(t, got, want)
				}
			}
			ev := sampleEvent()
			b, err := c.EncodeEvent(bg, nil, &ev)
			if err != nil {
				t.Fatalf("EncodeEvent: %v", err)
			}
			gotEv, err := auto.DecodeEvent(bg, b)
			if err != nil {
				t.Fatalf("DecodeEvent: %v", err)
			}
			if !eventsEqual(gotEv, ev) {
				t.Fatalf("event round trip:\n got %+v\nwant %+v", gotEv, ev)
			}
			sc := sampleScore()
			b, err = c.EncodeScore(bg, nil, &sc)
			if err != nil {
				t.Fatalf("EncodeScore: %v", err)
			}
			gotSc, err := auto.DecodeScore(bg, b)
			if err != nil {
				t.Fatalf("DecodeScore: %v", err)
			}
			if !gotSc.Time.Equal(sc.Time) {
				t.Fatalf("score time %v, want %v", gotSc.Time, sc.Time)
			}
			gotSc.Time = sc.Time
			if gotSc != sc {
				t.Fatalf("score round trip:\n got %+v\nwant %+v", gotSc, sc)
			}
		})
	}
}

func assertReading(t *testing.T, got, want record.Reading) {
	t.Helper()
	if !got.Time.Equal(want.Time) || got.Time.Location() != time.UTC {
		t.Fatalf("time %v, want %v (UTC)", got.Time, want.Time)
	}
	got.Time = want.Time
	if len(got.Fields) == 0 && len(want.Fields) == 0 {
		got.Fields = want.Fields
	}
	if len(got.Tags) == 0 && len(want.Tags) == 0 {
		got.Tags = want.Tags
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("reading:\n got %+v\nwant %+v", got, want)
	}
}

func eventsEqual(a, b record.Event) bool {
	for _, p := range [][2]*time.Time{{&a.Time, &b.Time}, {&a.DetectedAt, &b.DetectedAt}, {&a.Episode.Start, &b.Episode.Start}, {&a.Episode.PeakTime, &b.Episode.PeakTime}} {
		if !p[0].Equal(*p[1]) {
			return false
		}
		*p[0] = *p[1]
	}
	return reflect.DeepEqual(a, b)
}

func TestNewNeedsRegistryForConfluent(t *testing.T) {
	for _, mut := range []func(*Config){
		func(c *Config) { c.Framing = FramingConfluent },
		func(c *Config) { c.InputFraming = FramingConfluent },
	} {
		cfg := DefaultConfig()
		mut(&cfg)
		if _, err := New(cfg, nil, nil); err == nil || !strings.Contains(err.Error(), "codec.registry-url") {
			t.Fatalf("New without registry = %v, want a registry-url error", err)
		}
		if _, err := New(cfg, staticRegistry{}, nil); err != nil {
			t.Fatalf("New with an explicit registry: %v", err)
		}
	}
}

func TestNewLoadsSchemaDir(t *testing.T) {
	c := newCodec(t, func(c *Config) { c.SchemaDir = "testdata" }, nil)
	v0 := readFixture(t, "reading_v0.avsc")
	b := soe(t, v0, map[string]any{"series_id": "s", "event_time": t0, "value": float32(1)})
	if _, err := c.DecodeReading(bg, b); err != nil {
		t.Fatalf("writer schema from SchemaDir unknown: %v", err)
	}
	cfg := DefaultConfig()
	cfg.SchemaDir = t.TempDir()
	if err := os.WriteFile(filepath.Join(cfg.SchemaDir, "bad.avsc"), []byte(`{"type":"record"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(cfg, nil, nil); err == nil {
		t.Fatal("New accepted a broken schema file")
	}
}

func TestEncodeRejectsInvalid(t *testing.T) {
	c := newCodec(t, nil, nil)
	r := sampleReading()
	r.Value = math.NaN()
	if _, err := c.EncodeReading(bg, nil, &r); !errors.Is(err, record.ErrNonFinite) {
		t.Fatalf("EncodeReading(NaN) = %v, want ErrNonFinite", err)
	}
	e := sampleEvent()
	e.Score = 2
	if _, err := c.EncodeEvent(bg, nil, &e); !errors.Is(err, record.ErrOutOfRange) {
		t.Fatalf("EncodeEvent(score 2) = %v, want ErrOutOfRange", err)
	}
}

func TestEncodeAppends(t *testing.T) {
	c := newCodec(t, nil, nil)
	r := sampleReading()
	prefix := []byte("keep")
	b, err := c.EncodeReading(bg, prefix, &r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, prefix) {
		t.Fatalf("dst prefix lost: %q", b[:4])
	}
	fp, _ := c.Fingerprint("reading")
	if b[4] != 0xC3 || b[5] != 0x01 || le64(b[6:14]) != fp {
		t.Fatalf("single-object header % x, fingerprint %016x", b[4:14], fp)
	}
}

func le64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// TestSchemaEvolution decodes readings written with an older and a newer
// writer schema, in both Avro framings.
func TestSchemaEvolution(t *testing.T) {
	fake, rc, _ := fakeRegistry(t)
	v0, v2 := readFixture(t, "reading_v0.avsc"), readFixture(t, "reading_v2.avsc")
	seed(fake, "vigil.readings-value", 1, 100, v0)
	seed(fake, "vigil.readings-value", 2, 102, v2)
	seed(fake, "vigil.readings-value", 3, 101, schemas.Reading)
	c := newCodec(t, nil, rc)
	for _, s := range []string{v0, v2} {
		if _, err := c.AddWriterSchema(s); err != nil {
			t.Fatal(err)
		}
	}
	old := map[string]any{"series_id": "old", "event_time": t0, "value": float32(1.5)}
	wantOld := record.Reading{SeriesID: "old", Time: t0.Truncate(time.Millisecond), Value: 1.5}
	newer := map[string]any{
		"series_id": "new", "sequence": int64(77), "event_time": t0, "value": 2.5,
		"unit":        map[string]any{"string": "°C"},
		"calibration": map[string]any{"offset": 0.1, "history": []any{1.0, 2.0}, "checksum": []byte{1, 2, 3, 4}},
		"fields":      map[string]any{"x": 1.0},
		"tags":        map[string]any{"k": "v"},
		"quality":     "MAINTENANCE",
	}
	wantNew := record.Reading{SeriesID: "new", Time: t0, Value: 2.5, Fields: map[string]float64{"x": 1}, Tags: map[string]string{"k": "v"}, Quality: record.QualityGood}
	tests := []struct {
		name    string
		payload []byte
		want    record.Reading
	}{
		{"older single-object", soe(t, v0, old), wantOld},
		{"older confluent", confluent(t, 100, v0, old), wantOld},
		{"newer single-object", soe(t, v2, newer), wantNew},
		{"newer confluent", confluent(t, 102, v2, newer), wantNew},
		{"newer with known quality", soe(t, v2, withQuality(newer, "BAD")), withQ(wantNew, record.QualityBad)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.DecodeReading(bg, tc.payload)
			if err != nil {
				t.Fatalf("DecodeReading: %v", err)
			}
			assertReading(t, got, tc.want)
		})
	}
}

func withQuality(m map[string]any, q string) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	c["quality"] = q
	return c
}

func withQ(r record.Reading, q record.Quality) record.Reading { r.Quality = q; return r }

func TestDecodeErrors(t *testing.T) {
	fake, rc, _ := fakeRegistry(t)
	seed(fake, "vigil.readings-value", 1, 7, schemas.Reading)
	c := newCodec(t, nil, rc)
	noValue := readFixture(t, "reading_no_value.avsc")
	if _, err := c.AddWriterSchema(noValue); err != nil {
		t.Fatal(err)
	}
	good := soe(t, schemas.Reading, readingNative(ptr(sampleReading())))
	nan := readingNative(ptr(sampleReading()))
	nan["value"] = math.NaN()
	infField := readingNative(ptr(sampleReading()))
	infField["fields"] = map[string]any{"x": math.Inf(1)}
	emptyID := readingNative(ptr(sampleReading()))
	emptyID["series_id"] = ""
	sc := sampleScore()
	unknownFP := append([]byte{0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8}, good[10:]...)
	hugeMap := append(append([]byte{}, good[:10]...), 2, 's', 0, 0, 0, 0, 0, 0, 0, 0, 0) // series "s", time 0, value 0
	hugeMap = append(hugeMap, 0xfe, 0xff, 0xff, 0xff, 0x0f)                              // fields: block of 2^31-1 entries
	noRegistry := newCodec(t, nil, nil)
	if _, err := c.AddWriterSchema(nullableValue); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		codec   *Codec
		payload []byte
		kind    *Kind
		field   string
	}{
		{"empty", c, nil, ErrMalformed, ""},
		{"unknown first byte", c, []byte{0x42, 1, 2}, ErrMalformed, ""},
		{"short single-object header", c, good[:6], ErrMalformed, ""},
		{"bad single-object version", c, append([]byte{0xC3, 0x02}, good[2:]...), ErrMalformed, ""},
		{"unknown fingerprint", c, unknownFP, ErrUnknownSchema, ""},
		{"truncated body", c, good[:len(good)-1], ErrMalformed, "quality"},
		{"truncated in series id", c, good[:12], ErrMalformed, "series_id"},
		{"trailing bytes", c, append(append([]byte{}, good...), 0), ErrMalformed, ""},
		{"forged map count", c, hugeMap, ErrMalformed, "fields"},
		{"nan value", c, soe(t, schemas.Reading, nan), ErrNonFinite, ""},
		{"inf field", c, soe(t, schemas.Reading, infField), ErrNonFinite, ""},
		{"empty series id", c, soe(t, schemas.Reading, emptyID), ErrInvalid, ""},
		{"writer lacks value", c, soe(t, noValue, map[string]any{"series_id": "s", "event_time": t0}), ErrMissingField, "value"},
		{"score decoded as reading", c, soe(t, schemas.Score, scoreNative(&sc)), ErrIncompatibleSchema, ""},
		{"short confluent header", c, []byte{0, 0, 0}, ErrMalformed, ""},
		{"negative confluent id", c, append([]byte{0, 0xff, 0xff, 0xff, 0xfe}, good[10:]...), ErrUnknownSchema, ""},
		{"nullable value is null", c, soe(t, nullableValue, map[string]any{"series_id": "s", "event_time": t0, "value": nil}), ErrMissingField, "value"},
		{"unknown confluent id", c, append([]byte{0, 0, 0, 0, 99}, good[10:]...), ErrUnknownSchema, ""},
		{"confluent without registry", noRegistry, append([]byte{0, 0, 0, 0, 7}, good[10:]...), ErrUnknownSchema, ""},
		{"too large", c, append([]byte{'{'}, make([]byte, DefaultMaxPayloadBytes)...), ErrTooLarge, ""},
		{"json syntax", c, []byte(`{"series_id": "s",`), ErrMalformed, ""},
		{"json not an object", c, []byte(` {} {}`), ErrMalformed, ""},
		{"json missing value", c, []byte(`{"series_id":"s","event_time":1700000000000}`), ErrMissingField, "value"},
		{"json null value", c, []byte(`{"series_id":"s","event_time":1700000000000,"value":null}`), ErrMissingField, "value"},
		{"json value as string", c, []byte(`{"series_id":"s","event_time":1700000000000,"value":"1.5"}`), ErrMalformed, "value"},
		{"json time as bool", c, []byte(`{"series_id":"s","event_time":true,"value":1}`), ErrMalformed, "event_time"},
		{"json bad time string", c, []byte(`{"series_id":"s","event_time":"yesterday","value":1}`), ErrMalformed, "event_time"},
		{"json overflowing value", c, []byte(`{"series_id":"s","event_time":0,"value":1e999}`), ErrNonFinite, "value"},
		{"json field not a number", c, []byte(`{"series_id":"s","event_time":0,"value":1,"fields":{"a":"x"}}`), ErrMalformed, "fields.a"},
		{"json tags not an object", c, []byte(`{"series_id":"s","event_time":0,"value":1,"tags":[1]}`), ErrMalformed, "tags"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.codec.DecodeReading(bg, tc.payload)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("DecodeReading error %T %v, want *DecodeError", err, err)
			}
			if !errors.Is(err, tc.kind) || Reason(err) != tc.kind.Reason() {
				t.Fatalf("error %v (reason %q), want kind %s", err, Reason(err), tc.kind.Reason())
			}
			if de.Field != tc.field {
				t.Fatalf("field %q, want %q (%v)", de.Field, tc.field, err)
			}
			if Retryable(err) {
				t.Fatalf("payload error %v reported retryable", err)
			}
			t.Logf("%v", err)
		})
	}
}

// nullableValue is a writer schema whose required value may be null.
const nullableValue = `{"type":"record","name":"Reading","namespace":"io.vigil","fields":[
	{"name":"series_id","type":"string"},
	{"name":"event_time","type":{"type":"long","logicalType":"timestamp-micros"}},
	{"name":"value","type":["null","double"],"default":null}]}`

func ptr[T any](v T) *T { return &v }

func TestDecodeEventErrors(t *testing.T) {
	c := newCodec(t, nil, nil)
	r := sampleReading()
	tests := []struct {
		name    string
		payload []byte
		kind    *Kind
		field   string
	}{
		{"reading decoded as event", soe(t, schemas.Reading, readingNative(&r)), ErrIncompatibleSchema, ""},
		{"json missing episode", []byte(`{"event_id":"x","kind":"OPENED","series_id":"s","event_time":0,"detection_time":0,"value":1,"predicted":1,"raw_error":0,"smoothed_error":0,"threshold":1,"score":0.5,"direction":"ABOVE"}`), ErrMissingField, "episode"},
		{"json unknown kind", []byte(`{"event_id":"x","kind":"REOPENED"}`), ErrInvalid, "kind"},
		{"json bad partition", []byte(strings.Replace(eventJSON(t, c), `"partition":4`, `"partition":4.5`, 1)), ErrMalformed, "provenance.partition"},
		{"truncated", soe(t, schemas.AnomalyEvent, eventNative(ptr(sampleEvent())))[:40], ErrMalformed, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.DecodeEvent(bg, tc.payload)
			var de *DecodeError
			if !errors.As(err, &de) || !errors.Is(err, tc.kind) {
				t.Fatalf("DecodeEvent = %v, want kind %s", err, tc.kind.Reason())
			}
			if de.Field != tc.field {
				t.Fatalf("field %q, want %q (%v)", de.Field, tc.field, err)
			}
		})
	}
}

func eventJSON(t *testing.T, _ *Codec) string {
	j := newCodec(t, withFraming(FramingJSON), nil)
	b, err := j.EncodeEvent(bg, nil, ptr(sampleEvent()))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestJSONInputForms(t *testing.T) {
	c := newCodec(t, func(c *Config) { c.InputFraming = FramingJSON }, nil)
	tests := []struct {
		name string
		in   string
		want record.Reading
	}{
		{"epoch millis", `{"series_id":"s","event_time":1700000000123,"value":1}`, record.Reading{SeriesID: "s", Time: time.UnixMilli(1700000000123).UTC(), Value: 1}},
		{"fractional millis", `{"series_id":"s","event_time":1700000000123.5,"value":1}`, record.Reading{SeriesID: "s", Time: time.UnixMicro(1700000000123500).UTC(), Value: 1}},
		{"rfc3339 with zone", `{"series_id":"s","event_time":"2026-03-14T16:09:26.5+01:00","value":2}`, record.Reading{SeriesID: "s", Time: time.Date(2026, 3, 14, 15, 9, 26, 5e8, time.UTC), Value: 2}},
		{"all fields, unknown ignored", `{"series_id":"s","event_time":0,"value":3,"fields":{"a":1,"b":2e3},"tags":{"x":"y"},"quality":"BAD","firmware":"ignored"}`,
			record.Reading{SeriesID: "s", Time: time.UnixMilli(0).UTC(), Value: 3, Fields: map[string]float64{"a": 1, "b": 2000}, Tags: map[string]string{"x": "y"}, Quality: record.QualityBad}},
		{"unknown quality reads as default", `{"series_id":"s","event_time":0,"value":3,"quality":"SHINY"}`, record.Reading{SeriesID: "s", Time: time.UnixMilli(0).UTC(), Value: 3}},
		{"union-looking tag key", `{"series_id":"s","event_time":0,"value":3,"tags":{"string":"x"}}`, record.Reading{SeriesID: "s", Time: time.UnixMilli(0).UTC(), Value: 3, Tags: map[string]string{"string": "x"}}},
		{"leading whitespace", "\n {\"series_id\":\"s\",\"event_time\":0,\"value\":3}", record.Reading{SeriesID: "s", Time: time.UnixMilli(0).UTC(), Value: 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.DecodeReading(bg, []byte(tc.in))
			if err != nil {
				t.Fatalf("DecodeReading: %v", err)
			}
			assertReading(t, got, tc.want)
		})
	}
}

func TestConcurrentDecode(t *testing.T) {
	enc, auto := codecs(t)
	var payloads [][]byte
	for _, c := range enc {
		b, err := c.EncodeReading(bg, nil, ptr(sampleReading()))
		if err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, b)
	}
	// A fresh decoder on a fresh registry client learns the Confluent id
	// while all goroutines race for it; they share one request.
	fake2, rc2, tr2 := fakeRegistry(t)
	seed(fake2, DefaultReadingSubject, 1, 9, schemas.Reading)
	fresh := newCodec(t, nil, rc2)
	var conf []byte
	for _, p := range payloads {
		if p[0] == singleObjectMagic {
			conf = append([]byte{0, 0, 0, 0, 9}, p[singleObjectHead:]...)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if _, err := auto.DecodeReading(bg, payloads[i%len(payloads)]); err != nil {
					errs <- err
					return
				}
				if _, err := fresh.DecodeReading(bg, conf); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := tr2.n.Load(); n != 1 {
		t.Fatalf("%d registry requests from 8 racing goroutines, want 1", n)
	}
}

// TestReadingPromotions covers Avro's promotions and unusual but legal
// writer shapes: numeric promotion to double, nanosecond timestamps, bytes
// for strings, a quality union of two enums and a string.
func TestReadingPromotions(t *testing.T) {
	writer := `{"type":"record","name":"Reading","namespace":"io.vigil","fields":[
		{"name":"series_id","type":"bytes"},
		{"name":"event_time","type":{"type":"long","logicalType":"timestamp-nanos"}},
		{"name":"value","type":["null","long"]},
		{"name":"fields","type":{"type":"map","values":"int"}},
		{"name":"tags","type":["null",{"type":"map","values":"bytes"}]},
		{"name":"quality","type":["null",
			{"type":"enum","name":"QA","symbols":["X","BAD"]},
			{"type":"enum","name":"QB","symbols":["UNCERTAIN"]},
			"string"]}]}`
	c := newCodec(t, nil, nil)
	if _, err := c.AddWriterSchema(writer); err != nil {
		t.Fatal(err)
	}
	base := func(q any) map[string]any {
		return map[string]any{
			"series_id": []byte("s"), "event_time": int64(1_700_000_000_123_456_789),
			"value": map[string]any{"long": int64(42)}, "fields": map[string]any{"n": int32(-3)},
			"tags": map[string]any{"map": map[string]any{"k": []byte("v")}}, "quality": q,
		}
	}
	want := record.Reading{
		SeriesID: "s", Time: time.UnixMicro(1_700_000_000_123_456).UTC(), Value: 42,
		Fields: map[string]float64{"n": -3}, Tags: map[string]string{"k": "v"},
	}
	tests := []struct {
		name string
		q    any
		want record.Quality
	}{
		{"null quality", nil, record.QualityGood},
		{"first enum, known symbol", map[string]any{"io.vigil.QA": "BAD"}, record.QualityBad},
		{"first enum, unknown symbol", map[string]any{"io.vigil.QA": "X"}, record.QualityGood},
		{"second enum", map[string]any{"io.vigil.QB": "UNCERTAIN"}, record.QualityUncertain},
		{"string", map[string]any{"string": "BAD"}, record.QualityBad},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.DecodeReading(bg, soe(t, writer, base(tc.q)))
			if err != nil {
				t.Fatalf("DecodeReading: %v", err)
			}
			assertReading(t, got, withQ(want, tc.want))
		})
	}
}

// TestIncompatibleWriters covers writer schemas no Reading can come from.
func TestIncompatibleWriters(t *testing.T) {
	tests := []struct {
		name, schema, field string
	}{
		{"value as string", `{"type":"record","name":"Reading","namespace":"io.vigil","fields":[
			{"name":"series_id","type":"string"},{"name":"event_time","type":{"type":"long","logicalType":"timestamp-micros"}},
			{"name":"value","type":"string"}]}`, "value"},
		{"time without unit", `{"type":"record","name":"Reading","namespace":"io.vigil","fields":[
			{"name":"series_id","type":"string"},{"name":"event_time","type":"long"},{"name":"value","type":"double"}]}`, "event_time"},
		{"tags of numbers", `{"type":"record","name":"Reading","namespace":"io.vigil","fields":[
			{"name":"series_id","type":"string"},{"name":"event_time","type":{"type":"long","logicalType":"timestamp-micros"}},
			{"name":"value","type":"double"},{"name":"tags","type":{"type":"map","values":"long"}}]}`, "tags"},
	}
	c := newCodec(t, nil, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fp, err := c.AddWriterSchema(tc.schema)
			if err != nil {
				t.Fatal(err)
			}
			payload := append([]byte{0xC3, 0x01, 0, 0, 0, 0, 0, 0, 0, 0}, 2, 's', 0, 0)
			for i := 0; i < 8; i++ {
				payload[2+i] = byte(fp >> (8 * i))
			}
			_, err = c.DecodeReading(bg, payload)
			var de *DecodeError
			if !errors.As(err, &de) || de.Kind != ErrIncompatibleSchema || de.Field != tc.field {
				t.Fatalf("DecodeReading = %v, want incompatible_schema on %s", err, tc.field)
			}
		})
	}
}

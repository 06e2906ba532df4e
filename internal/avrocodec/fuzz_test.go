package avrocodec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzCodec decodes with every schema the fixtures know: the current ones
// plus the older and newer reading versions, by fingerprint and by id.
func fuzzCodec(t testing.TB) *Codec {
	reg := goldenRegistry(t)
	c := newCodec(t, func(c *Config) { c.MaxPayloadBytes = 64 << 10 }, reg)
	for _, id := range []int{10, 12} {
		if _, err := c.AddWriterSchema(reg[id]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.AddWriterSchema(readFixture(t, "reading_no_value.avsc")); err != nil {
		t.Fatal(err)
	}
	return c
}

// fuzzSeeds are valid payloads of every framing and schema version, and
// truncated and corrupted variants of them.
func fuzzSeeds(t testing.TB) map[string][]byte {
	seeds := map[string][]byte{}
	entries, err := os.ReadDir(filepath.Join("testdata", "golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "reading") {
			continue
		}
		b, err := os.ReadFile(filepath.Join("testdata", "golden", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		base := strings.NewReplacer(".", "_", "-", "_").Replace(e.Name())
		seeds[base] = b
		seeds[base+"_truncated"] = b[:len(b)*2/3]
		flipped := append([]byte{}, b...)
		flipped[len(b)/2] ^= 0xff
		seeds[base+"_flipped"] = flipped
	}
	seeds["empty"] = []byte{}
	seeds["garbage"] = []byte("\x7f\x45\x4c\x46garbage")
	seeds["confluent_unknown_id"] = []byte{0, 0, 0, 0x30, 0x39, 2, 's'}
	seeds["single_object_header_only"] = []byte{0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8}
	seeds["json_wrong_types"] = []byte(`{"series_id":1,"event_time":[],"value":"x","fields":{"a":null}}`)
	seeds["json_huge_number"] = []byte(`{"series_id":"s","event_time":1e300,"value":1e999}`)
	seeds["json_truncated"] = []byte(`{"series_id":"s","event_time":"2026-`)
	return seeds
}

// TestWriteFuzzCorpus writes the seed corpus under testdata/fuzz when run
// with -update; otherwise it checks that the committed corpus exists.
func TestWriteFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeReading")
	if !*update {
		if _, err := os.Stat(dir); err != nil {
			t.Fatalf("seed corpus missing (run with -update): %v", err)
		}
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range fuzzSeeds(t) {
		if err := os.WriteFile(filepath.Join(dir, "seed_"+name), corpusFile(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzDecodeReading asserts that no input makes DecodeReading panic (not
// even a panic its own recovery would hide), that every failure is a
// *DecodeError with a known reason, and that every success is a valid
// reading.
func FuzzDecodeReading(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add(b)
	}
	c := fuzzCodec(f)
	known := map[string]bool{}
	for _, k := range []*Kind{ErrMalformed, ErrUnknownSchema, ErrIncompatibleSchema, ErrMissingField, ErrNonFinite, ErrInvalid, ErrTooLarge, ErrRegistryUnavailable} {
		known[k.Reason()] = true
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		r, err := c.DecodeReading(bg, payload)
		if err == nil {
			if verr := r.Validate(); verr != nil {
				t.Fatalf("decoded an invalid reading %+v: %v", r, verr)
			}
			return
		}
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Fatalf("error %T %v is not a *DecodeError", err, err)
		}
		if de.Kind == nil || !known[de.Reason()] || !errors.Is(err, de.Kind) {
			t.Fatalf("error %v has unknown kind", err)
		}
		if strings.HasPrefix(de.Detail, "decoder panic") {
			t.Fatalf("decoder panicked: %v", err)
		}
		if de.Offset > len(payload) {
			t.Fatalf("offset %d beyond payload of %d bytes: %v", de.Offset, len(payload), err)
		}
		_ = fmt.Sprint(err) // formatting must not panic either
	})
}

// FuzzDecodeEvent is FuzzDecodeReading for the goavro-backed path of events
// and scores: no panic, only typed errors, only valid results.
func FuzzDecodeEvent(f *testing.F) {
	entries, err := os.ReadDir(filepath.Join("testdata", "golden"))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "event") || strings.HasPrefix(e.Name(), "score") {
			b, err := os.ReadFile(filepath.Join("testdata", "golden", e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
			f.Add(b[:len(b)/2])
		}
	}
	c := fuzzCodec(f)
	f.Fuzz(func(t *testing.T, payload []byte) {
		ev, err := c.DecodeEvent(bg, payload)
		checkFuzzResult(t, err, ev.Validate)
		sc, err := c.DecodeScore(bg, payload)
		checkFuzzResult(t, err, sc.Validate)
	})
}

func checkFuzzResult(t *testing.T, err error, validate func() error) {
	t.Helper()
	if err == nil {
		if verr := validate(); verr != nil {
			t.Fatalf("decoded an invalid record: %v", verr)
		}
		return
	}
	var de *DecodeError
	if !errors.As(err, &de) || de.Kind == nil {
		t.Fatalf("error %T %v is not a typed *DecodeError", err, err)
	}
	if strings.HasPrefix(de.Detail, "decoder panic") {
		t.Fatalf("decoder panicked: %v", err)
	}
	_ = err.Error()
}

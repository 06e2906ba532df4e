package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"
)

var update = flag.Bool("update", false, "rewrite the golden artifact in testdata/artifact")

// testModel returns a small group model with deterministic pseudo-random
// weights: 6 inputs (value, one field, calendar), LSTM layers of 8 and 4
// units, one output.
func testModel() *Model {
	feat := Features{Fields: []string{"humidity"}, Calendar: true}
	n := NewNetwork(feat.Width(), []int{8, 4}, 1)
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(xs []float32) {
		for i := range xs {
			xs[i] = float32(rng.NormFloat64() * 0.3)
		}
	}
	for l := range n.Layers {
		fill(n.Layers[l].W)
		fill(n.Layers[l].B)
	}
	fill(n.Head.W)
	fill(n.Head.B)
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	return &Model{
		Name:     "plant-3/pumps",
		Version:  42,
		Network:  n,
		Features: feat,
		Scalers: map[string]*Scaler{
			"pump-7/temp": {Center: []float64{61.5, 40}, Spread: []float64{2.25, 7.5}},
			"pump-8/temp": {Center: []float64{58.25, 42}, Spread: []float64{1.75, 6}},
		},
		Fallback: &Scaler{Center: []float64{60, 41}, Spread: []float64{2.5, 7}},
		Threshold: ThresholdRule{
			Rule:     "percentile",
			Params:   map[string]string{"percentile": "99.5", "batch": "70"},
			PriorAll: Prior{Count: 2000, Mean: 0.3, Std: 0.1, P99: 0.7, P999: 0.9, Max: 1.1},
			Priors: map[string]Prior{
				"pump-7/temp": {Count: 1000, Mean: 0.25, Std: 0.1, P99: 0.6, P999: 0.8, Max: 1},
				"pump-8/temp": {Count: 1000, Mean: 0.35, Std: 0.1, P99: 0.7, P999: 0.9, Max: 1.1},
			},
		},
		Training: TrainingInfo{
			DataFrom:  day,
			DataTo:    day.Add(14*24*time.Hour - time.Minute),
			Series:    []string{"pump-7/temp", "pump-8/temp"},
			Epochs:    3,
			BestEpoch: 3,
			Loss:      []EpochLoss{{0.9, math.NaN()}, {0.5, 0.6}, {0.25, 0.375}},
			ErrorsAll: ErrorStats{N: 2000, Mean: 0.5, Std: 0.25,
				P50: 0.4, P90: 0.9, P95: 1.1, P99: 1.6, Max: 3.2},
			Errors: map[string]ErrorStats{
				"pump-7/temp": {N: 1000, Mean: 0.45, Std: 0.2, P50: 0.4, P90: 0.8, P95: 1, P99: 1.5, Max: 2.9},
				"pump-8/temp": {N: 1000, Mean: 0.55, Std: 0.3, P50: 0.45, P90: 1, P95: 1.2, P99: 1.7, Max: 3.2},
			},
			Config:         []byte(`{"epochs":3,"hidden":[8,4],"lr":0.001}`),
			Created:        time.Date(2026, 11, 15, 3, 4, 5, 123456000, time.UTC),
			TrainerVersion: "vigil-train 0.1.0",
		},
	}
}

// equalModels reports whether a and b are equal, weights bit for bit and
// NaN equal to NaN in the loss curve.
func equalModels(t *testing.T, got, want *Model) {
	t.Helper()
	if got == nil {
		t.Fatal("model is nil")
	}
	bits := func(xs []float32) []uint32 {
		u := make([]uint32, len(xs))
		for i, x := range xs {
			u[i] = math.Float32bits(x)
		}
		return u
	}
	for l := range want.Network.Layers {
		if l >= len(got.Network.Layers) {
			t.Fatalf("got %d layers, want %d", len(got.Network.Layers), len(want.Network.Layers))
		}
		g, w := got.Network.Layers[l], want.Network.Layers[l]
		if !slicesEqual(bits(g.W), bits(w.W)) || !slicesEqual(bits(g.B), bits(w.B)) {
			t.Errorf("layer %d weights differ", l)
		}
	}
	if !slicesEqual(bits(got.Network.Head.W), bits(want.Network.Head.W)) || !slicesEqual(bits(got.Network.Head.B), bits(want.Network.Head.B)) {
		t.Error("head weights differ")
	}
	lossBits := func(ls []EpochLoss) [][2]uint64 {
		u := make([][2]uint64, len(ls))
		for i, l := range ls {
			u[i] = [2]uint64{math.Float64bits(l.Train), math.Float64bits(l.Validation)}
		}
		return u
	}
	if !reflect.DeepEqual(lossBits(got.Training.Loss), lossBits(want.Training.Loss)) {
		t.Errorf("loss curve %v, want %v", got.Training.Loss, want.Training.Loss)
	}
	g, w := *got, *want
	g.Training.Loss, w.Training.Loss = nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Errorf("models differ:\n got %+v\nwant %+v", g, w)
	}
}

func slicesEqual(a, b []uint32) bool { return reflect.DeepEqual(a, b) }

func save(t testing.TB, m *Model) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Save(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSaveLoadRoundTrip(t *testing.T) {
	m := testModel()
	b := save(t, m)
	got, err := Load(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	equalModels(t, got, m)
	if again := save(t, got); !bytes.Equal(again, b) {
		t.Error("saving the loaded model gives other bytes")
	}
}

func TestSaveLoadMinimal(t *testing.T) {
	// A single-series model with no metadata at all: empty collections come
	// back nil, zero times come back zero.
	n := NewNetwork(1, []int{1}, 1)
	m := &Model{Name: "x", Version: 1, Network: n, Fallback: &Scaler{Center: []float64{0}, Spread: []float64{1}}}
	got, err := Load(bytes.NewReader(save(t, m)))
	if err != nil {
		t.Fatal(err)
	}
	equalModels(t, got, m)
}

func TestSaveRejectsInvalidModels(t *testing.T) {
	for _, tc := range []struct {
		name    string
		breakIt func(m *Model)
	}{
		{"nil network", func(m *Model) { m.Network = nil }},
		{"empty name", func(m *Model) { m.Name = "" }},
		{"zero version", func(m *Model) { m.Version = 0 }},
		{"short weights", func(m *Model) { m.Network.Layers[1].W = m.Network.Layers[1].W[1:] }},
		{"head shape", func(m *Model) { m.Network.Head.In++ }},
		{"NaN weight", func(m *Model) { m.Network.Layers[0].W[3] = float32(math.NaN()) }},
		{"infinite bias", func(m *Model) { m.Network.Head.B[0] = float32(math.Inf(1)) }},
		{"input width", func(m *Model) { m.Features.Calendar = false }},
		{"no fallback", func(m *Model) { m.Fallback = nil }},
		{"zero spread", func(m *Model) { m.Scalers["pump-7/temp"].Spread[1] = 0 }},
		{"scaler channels", func(m *Model) { m.Fallback.Center = m.Fallback.Center[:1] }},
		{"unsorted series", func(m *Model) {
			m.Training.Series[0], m.Training.Series[1] = m.Training.Series[1], m.Training.Series[0]
		}},
		{"bad config", func(m *Model) { m.Training.Config = []byte("{") }},
		{"NaN prior", func(m *Model) { m.Threshold.PriorAll.P999 = math.NaN() }},
		{"negative series prior", func(m *Model) { m.Threshold.Priors["pump-7/temp"] = Prior{Mean: -1} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testModel()
			tc.breakIt(m)
			var buf bytes.Buffer
			if err := Save(&buf, m); err == nil {
				t.Fatal("Save accepted an invalid model")
			}
			if buf.Len() != 0 {
				t.Errorf("Save wrote %d bytes", buf.Len())
			}
		})
	}
}

// forge writes m without validating it, with header overrides.
func forge(t *testing.T, m *Model, format int, meta map[string][]byte) []byte {
	t.Helper()
	b, _, err := encodeArtifact(m, format, meta)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// otherSchemaArtifact is a valid container of another record type, with
// the Vigil header keys and a correct checksum.
func otherSchemaArtifact(t *testing.T) []byte {
	schema := `{"type":"record","name":"Other","fields":[
		{"name":"x","type":"string"},
		{"name":"checksum","type":{"type":"fixed","name":"S","size":32}}]}`
	codec, err := goavro.NewCodec(schema)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := codec.BinaryFromNative(nil, map[string]any{"x": "hello", "checksum": make([]byte, 32)})
	sum := sha256.Sum256(body[:len(body)-32])
	schemaSum := sha256.Sum256([]byte(schema))
	var buf bytes.Buffer
	w, err := goavro.NewOCFWriter(goavro.OCFConfig{W: &buf, Codec: codec, MetaData: map[string][]byte{
		MetaFormat: []byte("1"), MetaSHA256: []byte(hex.EncodeToString(sum[:])),
		MetaSchemaSHA256: []byte(hex.EncodeToString(schemaSum[:])),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append([]any{map[string]any{"x": "hello", "checksum": sum[:]}}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// recodedArtifact rewrites the record of a good artifact with goavro's
// writer and the given compression, keeping the header keys.
func recodedArtifact(t *testing.T, good []byte, compression string) []byte {
	r, err := goavro.NewOCFReader(bytes.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Scan() {
		t.Fatal(r.Err())
	}
	rec, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	meta := map[string][]byte{}
	for _, k := range []string{MetaFormat, MetaSHA256, MetaSchemaSHA256} {
		meta[k] = r.MetaData()[k]
	}
	var buf bytes.Buffer
	w, err := goavro.NewOCFWriter(goavro.OCFConfig{W: &buf, Codec: r.Codec(), CompressionName: compression, MetaData: meta})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append([]any{rec}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLoadRejectsDamagedArtifacts(t *testing.T) {
	good := save(t, testModel())
	n := len(good)
	mut := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	truncate := func(at int) []byte { return good[:at] }

	cases := []struct {
		name string
		file []byte
		want error
	}{
		{"empty", nil, ErrCorrupt},
		{"flip middle byte", mut(func(b []byte) []byte { b[n/2] ^= 0x40; return b }), ErrCorrupt},
		{"flip first weight byte", mut(func(b []byte) []byte {
			i := bytes.Index(b, f32Bytes(testModel().Network.Layers[0].W[:2]))
			b[i] ^= 1
			return b
		}), ErrCorrupt},
		{"wrong magic", mut(func(b []byte) []byte { b[0] = 'X'; return b }), ErrCorrupt},
		{"not avro", []byte("PK\x03\x04 a zip file, say"), ErrCorrupt},
		{"truncated in magic", truncate(3), ErrCorrupt},
		{"truncated after magic", truncate(4), ErrCorrupt},
		{"truncated in header", truncate(100), ErrCorrupt},
		{"truncated at a quarter", truncate(n / 4), ErrCorrupt},
		{"truncated at half", truncate(n / 2), ErrCorrupt},
		{"truncated in checksum", truncate(n - 20), ErrCorrupt},
		{"truncated in sync marker", truncate(n - 1), ErrCorrupt},
		{"trailing bytes", append(bytes.Clone(good), 0), ErrCorrupt},
		{"record checksum flipped", mut(func(b []byte) []byte { b[n-17] ^= 1; return b }), ErrCorrupt},
		{"header checksum differs", forge(t, testModel(), FormatVersion, map[string][]byte{
			MetaSHA256: []byte(hex.EncodeToString(make([]byte, 32))),
		}), ErrCorrupt},
		{"header checksum missing", forge(t, testModel(), FormatVersion, map[string][]byte{MetaSHA256: nil}), ErrCorrupt},
		{"future format version", forge(t, testModel(), FormatVersion+1, nil), ErrIncompatible},
		{"format version zero", forge(t, testModel(), 0, nil), ErrIncompatible},
		{"format version not a number", forge(t, testModel(), FormatVersion, map[string][]byte{MetaFormat: []byte("one")}), ErrCorrupt},
		{"record and header format differ", forge(t, testModel(), FormatVersion+1, map[string][]byte{MetaFormat: []byte("1")}), ErrCorrupt},
		{"no format key", forge(t, testModel(), FormatVersion, map[string][]byte{MetaFormat: nil}), ErrIncompatible},
		{"no codec key", forge(t, testModel(), FormatVersion, map[string][]byte{"avro.codec": nil}), ErrCorrupt},
		{"unknown vigil key", forge(t, testModel(), FormatVersion, map[string][]byte{"vigil.model.formas": []byte("1")}), ErrCorrupt},
		{"schema checksum differs", forge(t, testModel(), FormatVersion, map[string][]byte{
			MetaSchemaSHA256: []byte(hex.EncodeToString(make([]byte, 32))),
		}), ErrCorrupt},
		{"schema checksum missing", forge(t, testModel(), FormatVersion, map[string][]byte{MetaSchemaSHA256: nil}), ErrCorrupt},
		{"other schema", otherSchemaArtifact(t), ErrIncompatible},
		{"deflate codec", recodedArtifact(t, good, goavro.CompressionDeflateLabel), ErrIncompatible},
		{"weights of wrong length", forge(t, func() *Model {
			m := testModel()
			m.Network.Layers[0].W = m.Network.Layers[0].W[:len(m.Network.Layers[0].W)-1]
			return m
		}(), FormatVersion, nil), ErrCorrupt},
		{"head wider than declared", forge(t, func() *Model {
			m := testModel()
			m.Network.Head.W = append(m.Network.Head.W, 1)
			return m
		}(), FormatVersion, nil), ErrCorrupt},
		{"NaN weight", forge(t, func() *Model {
			m := testModel()
			m.Network.Layers[1].B[2] = float32(math.NaN())
			return m
		}(), FormatVersion, nil), ErrCorrupt},
		{"negative spread", forge(t, func() *Model {
			m := testModel()
			m.Scalers["pump-8/temp"].Spread[0] = -1
			return m
		}(), FormatVersion, nil), ErrCorrupt},
		{"network narrower than features", forge(t, func() *Model {
			m := testModel()
			m.Features.Fields = nil
			return m
		}(), FormatVersion, nil), ErrCorrupt},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Load(bytes.NewReader(tc.file))
			if m != nil {
				t.Error("Load returned a model")
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			other := ErrIncompatible
			if errors.Is(tc.want, ErrIncompatible) {
				other = ErrCorrupt
			}
			if errors.Is(err, other) {
				t.Errorf("err = %v is also %v", err, other)
			}
			t.Log(err)
		})
	}
}

// TestLoadEveryFlip flips every byte of an artifact in turn: each damaged
// file fails with one of the two sentinels, damage to the record always
// with ErrCorrupt.
func TestLoadEveryFlip(t *testing.T) {
	m := testModel()
	good := save(t, m)
	block := len(good) - 16 - len(mustDatum(t, good)) // the record's first byte
	for i := range good {
		b := bytes.Clone(good)
		b[i] ^= 0x20
		got, err := Load(bytes.NewReader(b))
		switch {
		case err == nil:
			t.Fatalf("byte %d: damage not detected", i)
		case got != nil:
			t.Fatalf("byte %d: model and error %v", i, err)
		case !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrIncompatible):
			t.Fatalf("byte %d: err = %v, want a sentinel", i, err)
		case i >= block && !errors.Is(err, ErrCorrupt):
			t.Fatalf("byte %d in the record: err = %v, want ErrCorrupt", i, err)
		}
	}
}

func mustDatum(t testing.TB, b []byte) []byte {
	t.Helper()
	c, err := parseContainer(b)
	if err != nil {
		t.Fatal(err)
	}
	return c.datum
}

// TestChecksumCoversRecordBytes pins the checksum definition that
// schemas/README.md gives to other languages.
func TestChecksumCoversRecordBytes(t *testing.T) {
	b := save(t, testModel())
	d := mustDatum(t, b)
	sum := sha256.Sum256(d[:len(d)-32])
	if !bytes.Equal(sum[:], d[len(d)-32:]) {
		t.Fatal("the record does not end with the SHA-256 of the bytes before")
	}
	r, err := goavro.NewOCFReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(r.MetaData()[MetaSHA256]); got != hex.EncodeToString(sum[:]) {
		t.Errorf("header %s = %s, want %x", MetaSHA256, got, sum)
	}
	if got := string(r.MetaData()[MetaFormat]); got != strconv.Itoa(FormatVersion) {
		t.Errorf("header %s = %s", MetaFormat, got)
	}
	// goavro's own reader decodes the file too.
	if !r.Scan() {
		t.Fatal(r.Err())
	}
	if _, err := r.Read(); err != nil {
		t.Fatal(err)
	}
}

const goldenPath = "testdata/artifact/tiny-v1.avro"

// goldenModel is the content of the committed artifact. Never change it or
// the file: the test exists to catch format changes that break reading the
// artifacts already written. A new format version gets a new golden file
// next to this one.
func goldenModel() *Model {
	n := NewNetwork(2, []int{2}, 1)
	for i := range n.Layers[0].W {
		n.Layers[0].W[i] = float32(i)/8 - 1
	}
	for i := range n.Layers[0].B {
		n.Layers[0].B[i] = float32(i) / 16
	}
	n.Head.W[0], n.Head.W[1], n.Head.B[0] = 0.5, -0.25, 0.125
	return &Model{
		Name:     "golden",
		Version:  7,
		Network:  n,
		Features: Features{Fields: []string{"rpm"}},
		Scalers:  map[string]*Scaler{"a": {Center: []float64{1, 2}, Spread: []float64{3, 4}}},
		Fallback: &Scaler{Center: []float64{0.5, 1.5}, Spread: []float64{2, 2}},
		Threshold: ThresholdRule{
			Rule:     "percentile",
			Params:   map[string]string{"percentile": "99"},
			PriorAll: Prior{Count: 10, Mean: 0.5, Std: 0.25, P99: 1, P999: 1.25, Max: 1.5},
			Priors:   map[string]Prior{"a": {Count: 10, Mean: 0.5, Std: 0.25, P99: 1, P999: 1.25, Max: 1.5}},
		},
		Training: TrainingInfo{
			DataFrom:       time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
			DataTo:         time.Date(2026, 1, 31, 23, 59, 0, 0, time.UTC),
			Series:         []string{"a"},
			Epochs:         2,
			BestEpoch:      2,
			Loss:           []EpochLoss{{1, 1.5}, {0.5, 0.75}},
			ErrorsAll:      ErrorStats{N: 10, Mean: 1, Std: 0.5, P50: 1, P90: 1.5, P95: 1.75, P99: 2, Max: 2.5},
			Errors:         map[string]ErrorStats{"a": {N: 10, Mean: 1, Std: 0.5, P50: 1, P90: 1.5, P95: 1.75, P99: 2, Max: 2.5}},
			Config:         []byte(`{"epochs":2}`),
			Created:        time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC),
			TrainerVersion: "golden 1",
		},
	}
}

func TestGoldenArtifact(t *testing.T) {
	if *update {
		if err := WriteFile(goldenPath, goldenModel()); err != nil {
			t.Fatal(err)
		}
	}
	m, err := ReadFile(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	equalModels(t, m, goldenModel())
}

func TestWriteFileReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.avro")
	m := testModel()
	if err := WriteFile(path, m); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	equalModels(t, got, m)

	// Overwrite with a newer version.
	m.Version++
	if err := WriteFile(path, m); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadFile(path); err != nil || got.Version != m.Version {
		t.Fatalf("after overwrite: version %v, err %v", got, err)
	}

	// An invalid model leaves the file as it was.
	bad := testModel()
	bad.Network.Head.B = nil
	if err := WriteFile(path, bad); err == nil {
		t.Fatal("WriteFile accepted an invalid model")
	}
	if got, err := ReadFile(path); err != nil || got.Version != m.Version {
		t.Fatalf("after failed write: %v, %v", got, err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want 1 (temporary files left?)", len(ents))
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, err %v", fi.Mode(), err)
	}

	if _, err := ReadFile(filepath.Join(dir, "missing.avro")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
	if err := os.WriteFile(path, []byte("Obj\x01"), 0o644); err != nil {
		t.Fatal(err)
	}
	if m, err := ReadFile(path); m != nil || !errors.Is(err, ErrCorrupt) {
		t.Errorf("damaged file: %v, %v", m, err)
	}
}

func TestModelLookups(t *testing.T) {
	m := testModel()
	if m.ScalerFor("pump-7/temp") != m.Scalers["pump-7/temp"] || m.ScalerFor("new") != m.Fallback {
		t.Error("ScalerFor")
	}
	if st, own := m.ErrorsFor("pump-8/temp"); !own || st.N != 1000 {
		t.Error("ErrorsFor known series")
	}
	if st, own := m.ErrorsFor("new"); own || st != m.Training.ErrorsAll {
		t.Error("ErrorsFor unseen series")
	}
	if p, own := m.PriorFor("pump-7/temp"); !own || p.Count != 1000 {
		t.Error("PriorFor known series")
	}
	if p, own := m.PriorFor("new"); own || p != m.Threshold.PriorAll {
		t.Error("PriorFor unseen series")
	}
	newer := testModel()
	newer.Version++
	if !newer.Newer(m) || m.Newer(newer) || !m.Newer(nil) {
		t.Error("Newer")
	}
	if m.String() != "plant-3/pumps@v42" {
		t.Error(m.String())
	}
}

func FuzzLoad(f *testing.F) {
	good := save(f, testModel())
	f.Add(good)
	f.Add(good[:len(good)/2])
	if b, err := os.ReadFile(goldenPath); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Load(bytes.NewReader(b))
		if err != nil {
			if m != nil {
				t.Fatal("model and error")
			}
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrIncompatible) {
				t.Fatalf("err = %v, want a sentinel", err)
			}
			return
		}
		// Whatever loads is valid and saves again.
		if err := m.Validate(); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := Save(&buf, m); err != nil {
			t.Fatal(err)
		}
	})
}

func TestFromTraining(t *testing.T) {
	want := testModel()
	rep := TrainReport{
		Config:   DefaultTrainConfig(),
		Features: want.Features,
		Series: []SeriesInfo{
			{ID: "pump-8/temp", ValErrors: want.Training.Errors["pump-8/temp"]},
			{ID: "pump-7/temp", ValErrors: want.Training.Errors["pump-7/temp"]},
		},
		DataFrom:  want.Training.DataFrom,
		DataTo:    want.Training.DataTo,
		Epochs:    3,
		BestEpoch: 3,
		ValErrors: want.Training.ErrorsAll,
	}
	for _, l := range want.Training.Loss {
		rep.LossCurve = append(rep.LossCurve, EpochStats{TrainLoss: l.Train, ValLoss: l.Validation})
	}
	sc := ScalerSet{BySeries: want.Scalers, Fallback: want.Fallback}
	before := time.Now().Add(-time.Second)
	m, err := FromTraining(want.Name, want.Version, want.Network, sc, rep, "vigil-train 0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if m.Training.Created.Before(before) || m.Training.Created.Location() != time.UTC {
		t.Errorf("created %v", m.Training.Created)
	}
	var cfg TrainConfig
	if err := json.Unmarshal(m.Training.Config, &cfg); err != nil || !reflect.DeepEqual(cfg, rep.Config) {
		t.Errorf("config %s: %v", m.Training.Config, err)
	}
	m.Training.Created, m.Training.Config = want.Training.Created, want.Training.Config
	want.Threshold = ThresholdRule{}
	equalModels(t, m, want)

	// The result saves and loads.
	got, err := Load(bytes.NewReader(save(t, m)))
	if err != nil {
		t.Fatal(err)
	}
	equalModels(t, got, m)

	rep.Features.Calendar = false // no longer matches the network
	if _, err := FromTraining(want.Name, want.Version, want.Network, sc, rep, "x"); err == nil {
		t.Error("FromTraining accepted a network of another width")
	}
}

// sealed wraps an arbitrary record body in a well-formed artifact with a
// correct checksum, as a writer that computes checksums but encodes
// records wrongly (or on purpose) would produce.
func sealed(t testing.TB, body []byte) []byte {
	codec, err := modelCodec()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	schemaSum := sha256.Sum256([]byte(codec.Schema()))
	datum := append(bytes.Clone(body), sum[:]...)
	return writeContainer(map[string][]byte{
		MetaFormat:       []byte("1"),
		MetaSHA256:       []byte(hex.EncodeToString(sum[:])),
		MetaSchemaSHA256: []byte(hex.EncodeToString(schemaSum[:])),
		"avro.schema":    []byte(codec.Schema()),
		"avro.codec":     []byte("null"),
	}, sum[:16], datum)
}

// recordPrefix returns the encoding of the record's fields up to and
// without features.fields.
func recordPrefix(m *Model) []byte {
	var b []byte
	str := func(s string) { b = appendLong(b, int64(len(s))); b = append(b, s...) }
	b = appendLong(b, FormatVersion)
	str(m.Name)
	b = appendLong(b, m.Version)
	b = appendLong(b, m.Training.Created.UnixMicro())
	str(m.Training.TrainerVersion)
	return b
}

func TestLoadRejectsSealedMalformedRecords(t *testing.T) {
	m := testModel()
	d := mustDatum(t, save(t, m))
	body := d[:len(d)-32]
	pre := recordPrefix(m)
	if !bytes.HasPrefix(body, pre) || body[len(pre)] != 2 { // features.fields: a count of 1
		t.Fatalf("record layout changed: % x", body[:len(pre)+1])
	}
	huge := append(appendLong(bytes.Clone(pre), math.MaxInt32), body[len(pre)+1:]...)
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"sealed good record", body},
		{"huge array count", huge},
		{"negative array count", append(appendLong(bytes.Clone(pre), math.MinInt64), body[len(pre)+1:]...)},
		{"truncated record", body[:len(body)/2]},
		{"record with trailing byte", append(bytes.Clone(body), 0)},
		{"empty record", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Load(bytes.NewReader(sealed(t, tc.body)))
			if tc.name == "sealed good record" {
				if err != nil {
					t.Fatal(err)
				}
				equalModels(t, got, m)
				return
			}
			if got != nil || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %v, %v; want ErrCorrupt", got, err)
			}
			t.Log(err)
		})
	}
}

// FuzzLoadRecord fuzzes the record behind a valid checksum: the decoding
// and validation that damaged bytes in FuzzLoad almost never reach.
func FuzzLoadRecord(f *testing.F) {
	d := mustDatum(f, save(f, testModel()))
	f.Add(d[:len(d)-32])
	if b, err := os.ReadFile(goldenPath); err == nil {
		d := mustDatum(f, b)
		f.Add(d[:len(d)-32])
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := Load(bytes.NewReader(sealed(t, body)))
		if err != nil {
			if m != nil || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%v, %v; want nil, ErrCorrupt", m, err)
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestLoadAcceptsForeignHeaderKeys(t *testing.T) {
	// Keys outside the avro. and vigil. namespaces belong to other tools.
	m := testModel()
	got, err := Load(bytes.NewReader(forge(t, m, FormatVersion, map[string][]byte{"x-origin": []byte("backup tool")})))
	if err != nil {
		t.Fatal(err)
	}
	equalModels(t, got, m)
}

func TestLoadAcceptsReformattedSchema(t *testing.T) {
	// Another writer may embed the schema with other formatting or docs:
	// only the Parsing Canonical Form has to match.
	codec, err := modelCodec()
	if err != nil {
		t.Fatal(err)
	}
	text := []byte(strings.ReplaceAll(codec.Schema(), `"doc":"`, `"doc":"Reworded. `))
	sum := sha256.Sum256(text)
	m := testModel()
	b := forge(t, m, FormatVersion, map[string][]byte{
		"avro.schema":    text,
		MetaSchemaSHA256: []byte(hex.EncodeToString(sum[:])),
	})
	got, err := Load(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	equalModels(t, got, m)
}

func BenchmarkLoad(b *testing.B) {
	data := save(b, testModel())
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Load(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

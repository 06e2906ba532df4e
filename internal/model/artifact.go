package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/linkedin/goavro/v2"

	"github.com/vigil-stream/vigil/schemas"
)

// FormatVersion is the version of the artifact file format described here.
//
// An artifact is one Avro Object Container File (OCF,
// https://avro.apache.org/docs/current/specification/#object-container-files)
// holding exactly one io.vigil.Model record (schemas/model.avsc), with codec
// null, in one block. Any Avro library reads it; schemas/README.md shows how
// from Python. The header's metadata carries, besides avro.schema and
// avro.codec:
//
//	vigil.model.format          the format version, decimal ASCII ("1")
//	vigil.model.sha256          the checksum, 64 lower-case hex digits
//	vigil.model.schema-sha256   SHA-256 of the avro.schema value, in hex
//
// The checksum is the SHA-256 of the Avro binary encoding of every field of
// the record but the last, which is the checksum itself (a fixed of 32
// bytes). Since a fixed is encoded as its raw bytes, the record's encoding
// is the covered bytes followed by the 32 checksum bytes: a reader verifies
// it on the block's bytes alone, before decoding, or by re-encoding the
// decoded record (the schema has no maps, so the encoding is unique). It
// covers the whole model (weights, scalers and metadata). The header is
// guarded by the schema's own SHA-256 and by Load's strictness: it requires
// avro.codec and the three Vigil keys, and rejects other keys that start
// with "avro." or "vigil."; so any damaged byte of an artifact is detected.
//
// Weights are Avro bytes holding IEEE 754 binary32 values, little-endian,
// in the row-major layouts of LSTMLayer and Dense: 4 bytes a weight, as an
// array of float would take too, but read as one slice rather than one
// boxed value per weight (goavro's []any, a Python list of floats), and
// turned into an array by one call in any language
// (numpy.frombuffer(b, "<f4")).
//
// The OCF sync marker is the first 16 bytes of the checksum and the header
// keys are written in sorted order, so that Save writes the same bytes for
// the same model.
const FormatVersion = 1

// Header metadata keys of an artifact.
const (
	MetaFormat       = "vigil.model.format"
	MetaSHA256       = "vigil.model.sha256"
	MetaSchemaSHA256 = "vigil.model.schema-sha256"
)

// MaxArtifactSize is the largest artifact Load reads, 1 GiB: far more than
// any network Vigil trains (an LSTM of two layers of 256 units is 3 MiB),
// small enough that a damaged length cannot exhaust memory.
const MaxArtifactSize = 1 << 30

// Errors of Load and ReadFile that callers branch on; match them with
// errors.Is. The error text says what exactly was wrong.
var (
	// ErrCorrupt means the file is damaged or not a model at all: not an
	// Avro container (wrong magic), truncated, trailing bytes, a checksum
	// mismatch, or a well-formed record that describes an unusable model
	// (weight lengths that disagree with the declared shape, NaN or
	// infinite weights or scalers, see Model.Validate). Another copy of the
	// artifact, or the previous version, may still be fine.
	ErrCorrupt = errors.New("corrupt model artifact")
	// ErrIncompatible means the file is an intact Avro container that this
	// build cannot read: another format version (typically an artifact
	// from a newer trainer), a record of another schema, a container
	// without the vigil.model.format key, or a compression codec other
	// than null. Upgrading the reader, not re-fetching the file, helps.
	ErrIncompatible = errors.New("incompatible model artifact")
)

// modelCodec returns the codec of schemas.Model, parsed once. The schema
// text is compacted (its doc strings kept), which makes the file header
// smaller.
var modelCodec = sync.OnceValues(func() (*goavro.Codec, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(schemas.Model)); err != nil {
		return nil, fmt.Errorf("parse model schema: %w", err)
	}
	c, err := goavro.NewCodec(buf.String())
	if err != nil {
		return nil, fmt.Errorf("parse model schema: %w", err)
	}
	return c, nil
})

// Save writes m to w as an artifact. It validates m first (see
// Model.Validate) and writes nothing if m is invalid; the output is built
// in memory and handed to w in one Write. The same model always gives the
// same bytes.
func Save(w io.Writer, m *Model) error {
	b, _, err := marshal(m)
	if err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	return nil
}

// marshal validates m and returns its artifact bytes and checksum.
func marshal(m *Model) ([]byte, [sha256.Size]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, [sha256.Size]byte{}, fmt.Errorf("invalid model: %w", err)
	}
	return encodeArtifact(m, FormatVersion, nil)
}

// encodeArtifact writes the container of m without validating it, with
// format in the record and the header. Entries of meta are added to the
// header, replacing the Vigil keys; a nil value removes a key (tests use it
// to forge damaged artifacts).
func encodeArtifact(m *Model, format int, meta map[string][]byte) ([]byte, [sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	codec, err := modelCodec()
	if err != nil {
		return nil, sum, err
	}
	rec := toNative(m, format)
	rec["checksum"] = make([]byte, sha256.Size)
	datum, err := codec.BinaryFromNative(nil, rec)
	if err != nil {
		return nil, sum, fmt.Errorf("encode model: %w", err)
	}
	sum = sha256.Sum256(datum[:len(datum)-sha256.Size])
	schemaSum := sha256.Sum256([]byte(codec.Schema()))
	header := map[string][]byte{
		MetaFormat:       []byte(strconv.Itoa(format)),
		MetaSHA256:       []byte(hex.EncodeToString(sum[:])),
		MetaSchemaSHA256: []byte(hex.EncodeToString(schemaSum[:])),
		"avro.schema":    []byte(codec.Schema()),
		"avro.codec":     []byte(goavro.CompressionNullLabel),
	}
	for k, v := range meta {
		if v == nil {
			delete(header, k)
		} else {
			header[k] = v
		}
	}
	// The record's encoding ends with the checksum (the last field), so
	// setting it needs no second encoding.
	copy(datum[len(datum)-sha256.Size:], sum[:])
	return writeContainer(header, sum[:16], datum), sum, nil
}

// writeContainer lays out an Avro Object Container File of one block
// holding one record: magic, the metadata map (keys sorted, so the bytes
// are reproducible; goavro's writer follows map order), the sync marker,
// then the block (count 1, size, record, sync marker).
func writeContainer(meta map[string][]byte, sync, datum []byte) []byte {
	b := make([]byte, 0, len(datum)+len(meta["avro.schema"])+256)
	b = append(b, ocfMagic...)
	b = appendLong(b, int64(len(meta)))
	for _, k := range sortedKeys(meta) {
		b = appendLong(b, int64(len(k)))
		b = append(b, k...)
		b = appendLong(b, int64(len(meta[k])))
		b = append(b, meta[k]...)
	}
	b = appendLong(b, 0)
	b = append(b, sync...)
	b = appendLong(b, 1)
	b = appendLong(b, int64(len(datum)))
	b = append(b, datum...)
	return append(b, sync...)
}

// appendLong appends the Avro encoding of v: a zig-zag varint.
func appendLong(b []byte, v int64) []byte {
	return binary.AppendUvarint(b, uint64(v<<1)^uint64(v>>63))
}

// Load reads an artifact written by Save. It returns a complete, validated
// model or nil and an error: ErrCorrupt or ErrIncompatible (see there) for
// a bad artifact, or the reader's error. It never returns part of a model
// and does not panic on any input. It reads at most MaxArtifactSize bytes
// and checks every length and count against the bytes actually present
// before allocating, so its memory stays within a small multiple of the
// input's size. The checksum guards against damage, not against forgery:
// load artifacts from a trusted store.
func Load(r io.Reader) (*Model, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxArtifactSize+1))
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	m, _, err := unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	return m, nil
}

// unmarshal decodes and checks an artifact, in the order: container
// structure, format version, header keys, record checksum, schema
// checksum, schema, record, model.
func unmarshal(b []byte) (*Model, [sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	if len(b) > MaxArtifactSize {
		return nil, sum, fmt.Errorf("%w: larger than %d bytes", ErrCorrupt, MaxArtifactSize)
	}
	c, err := parseContainer(b)
	if err != nil {
		return nil, sum, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	fv, ok := c.meta[MetaFormat]
	if !ok {
		return nil, sum, fmt.Errorf("%w: no %s in the header: not a model artifact", ErrIncompatible, MetaFormat)
	}
	format, err := strconv.Atoi(string(fv))
	if err != nil {
		return nil, sum, fmt.Errorf("%w: format version %q is not a number", ErrCorrupt, fv)
	}
	if format != FormatVersion {
		return nil, sum, fmt.Errorf("%w: format version %d, this build reads %d", ErrIncompatible, format, FormatVersion)
	}
	if cn, ok := c.meta["avro.codec"]; !ok {
		return nil, sum, fmt.Errorf("%w: no avro.codec in the header", ErrCorrupt)
	} else if string(cn) != goavro.CompressionNullLabel {
		return nil, sum, fmt.Errorf("%w: codec %q, want null", ErrIncompatible, cn)
	}
	for k := range c.meta {
		switch k {
		case "avro.schema", "avro.codec", MetaFormat, MetaSHA256, MetaSchemaSHA256:
		default:
			if strings.HasPrefix(k, "avro.") || strings.HasPrefix(k, "vigil.") {
				return nil, sum, fmt.Errorf("%w: unknown header key %q", ErrCorrupt, k)
			}
		}
	}
	if len(c.datum) < sha256.Size {
		return nil, sum, fmt.Errorf("%w: record of %d bytes is too short", ErrCorrupt, len(c.datum))
	}
	body, stored := c.datum[:len(c.datum)-sha256.Size], c.datum[len(c.datum)-sha256.Size:]
	sum = sha256.Sum256(body)
	if !bytes.Equal(sum[:], stored) {
		return nil, sum, fmt.Errorf("%w: checksum mismatch: record says %x, contents hash to %x", ErrCorrupt, stored, sum)
	}
	if hx := c.meta[MetaSHA256]; string(hx) != hex.EncodeToString(sum[:]) {
		return nil, sum, fmt.Errorf("%w: header checksum %q != record checksum %x", ErrCorrupt, hx, sum)
	}
	schemaSum := sha256.Sum256(c.meta["avro.schema"])
	if hx := c.meta[MetaSchemaSHA256]; string(hx) != hex.EncodeToString(schemaSum[:]) {
		return nil, sum, fmt.Errorf("%w: header schema checksum %q != schema's %x", ErrCorrupt, hx, schemaSum)
	}
	codec, err := modelCodec()
	if err != nil {
		return nil, sum, err
	}
	if err := checkSchema(c.meta["avro.schema"], codec); err != nil {
		return nil, sum, err
	}
	native, err := decodeDatum(codec, c.datum)
	if err != nil {
		return nil, sum, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	m, err := fromNative(native, format)
	if err != nil {
		return nil, sum, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err := m.Validate(); err != nil {
		return nil, sum, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return m, sum, nil
}

// checkSchema compares the writer's schema with ours by Parsing Canonical
// Form, which ignores doc strings and formatting. Our own schema text, the
// common case, is accepted without parsing.
func checkSchema(text []byte, ours *goavro.Codec) (err error) {
	if len(text) == 0 {
		return fmt.Errorf("%w: no avro.schema in the header", ErrCorrupt)
	}
	if string(text) == ours.Schema() {
		return nil
	}
	defer func() {
		// Last resort: goavro should report bad schemas as errors.
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: schema: %v", ErrCorrupt, r)
		}
	}()
	theirs, err := goavro.NewCodec(string(text))
	if err != nil {
		return fmt.Errorf("%w: schema: %w", ErrCorrupt, err)
	}
	if theirs.CanonicalSchema() != ours.CanonicalSchema() {
		return fmt.Errorf("%w: written with another schema (%.80s…)", ErrIncompatible, theirs.CanonicalSchema())
	}
	return nil
}

// decodeDatum decodes the record, which must fill datum exactly. It first
// walks the bytes against the schema (see walkDatum), so that goavro, which
// allocates as many slots as an array's count says before reading an item,
// only sees records whose every count fits the bytes left.
func decodeDatum(codec *goavro.Codec, datum []byte) (native any, err error) {
	if err := walkDatum(datum); err != nil {
		return nil, fmt.Errorf("decode record: %w", err)
	}
	defer func() {
		// Last resort: goavro should report bad input as errors.
		if r := recover(); r != nil {
			native, err = nil, fmt.Errorf("decode record: %v", r)
		}
	}()
	native, rest, err := codec.NativeFromBinary(datum)
	if err != nil {
		return nil, fmt.Errorf("decode record: %w", err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("decode record: %d bytes after the record", len(rest))
	}
	return native, nil
}

// schemaTree is schemas.Model parsed as JSON, with its named types.
var schemaTree = sync.OnceValues(func() (*walkSchema, error) {
	var root any
	if err := json.Unmarshal([]byte(schemas.Model), &root); err != nil {
		return nil, fmt.Errorf("parse model schema: %w", err)
	}
	ws := &walkSchema{root: root, named: map[string]any{}}
	ws.collect(root, "")
	return ws, nil
})

// walkSchema walks Avro binary data against a parsed schema without
// building values: it checks that the data is well formed and that every
// array or map count is at most the number of bytes left (every item of
// every array in the model schema takes a byte at least).
type walkSchema struct {
	root  any
	named map[string]any // by full name and by short name
}

// collect registers the named types of s.
func (ws *walkSchema) collect(s any, ns string) {
	switch s := s.(type) {
	case []any:
		for _, b := range s {
			ws.collect(b, ns)
		}
	case map[string]any:
		if name, ok := s["name"].(string); ok {
			if n, ok := s["namespace"].(string); ok {
				ns = n
			}
			ws.named[name] = s
			if ns != "" {
				ws.named[ns+"."+name] = s
			}
		}
		if f, ok := s["fields"].([]any); ok {
			for _, fd := range f {
				if fm, ok := fd.(map[string]any); ok {
					ws.collect(fm["type"], ns)
				}
			}
		}
		for _, k := range []string{"items", "values"} {
			if t, ok := s[k]; ok {
				ws.collect(t, ns)
			}
		}
		if t := s["type"]; isComplex(t) {
			ws.collect(t, ns)
		}
	}
}

func isComplex(t any) bool {
	switch t.(type) {
	case map[string]any, []any:
		return true
	}
	return false
}

// walkDatum checks datum against the model schema.
func walkDatum(datum []byte) error {
	ws, err := schemaTree()
	if err != nil {
		return err
	}
	p := &parser{b: datum}
	ws.walk(p, ws.root, 0)
	if p.err != nil {
		return p.err
	}
	if len(p.b) != 0 {
		return fmt.Errorf("%d bytes after the record", len(p.b))
	}
	return nil
}

func (ws *walkSchema) walk(p *parser, s any, depth int) {
	if p.err != nil {
		return
	}
	if depth > 32 {
		p.fail("schema nested too deeply")
		return
	}
	switch s := s.(type) {
	case string:
		switch s {
		case "null":
		case "boolean":
			if b := p.next(1); p.err == nil && b[0] > 1 {
				p.fail("boolean byte %d", b[0])
			}
		case "int", "long":
			p.long()
		case "float":
			p.next(4)
		case "double":
			p.next(8)
		case "bytes", "string":
			p.bytes()
		default:
			t, ok := ws.named[s]
			if !ok {
				p.fail("unknown type %q", s)
				return
			}
			ws.walk(p, t, depth+1)
		}
	case []any: // union
		i := p.long()
		if p.err == nil && (i < 0 || i >= int64(len(s))) {
			p.fail("union branch %d of %d", i, len(s))
			return
		}
		if p.err == nil {
			ws.walk(p, s[i], depth+1)
		}
	case map[string]any:
		switch t := s["type"]; t {
		case "record":
			fields, _ := s["fields"].([]any)
			for _, f := range fields {
				fm, _ := f.(map[string]any)
				ws.walk(p, fm["type"], depth+1)
			}
		case "array", "map":
			for {
				n := p.long()
				if n < 0 {
					n = -n
					p.long()
				}
				if p.err != nil || n == 0 {
					return
				}
				if n < 0 || n > int64(len(p.b)) {
					p.fail("%s count %d exceeds the %d bytes left", t, n, len(p.b))
					return
				}
				for ; n > 0 && p.err == nil; n-- {
					if t == "map" {
						p.bytes()
						ws.walk(p, s["values"], depth+1)
					} else {
						ws.walk(p, s["items"], depth+1)
					}
				}
			}
		case "fixed":
			size, _ := s["size"].(float64)
			p.next(int(size))
		case "enum":
			symbols, _ := s["symbols"].([]any)
			if i := p.long(); p.err == nil && (i < 0 || i >= int64(len(symbols))) {
				p.fail("enum index %d of %d", i, len(symbols))
			}
		default: // a primitive or named type spelt as an object
			ws.walk(p, t, depth+1)
		}
	default:
		p.fail("bad schema node %T", s)
	}
}

// container is the part of an Avro Object Container File that Load uses.
type container struct {
	meta  map[string][]byte
	datum []byte // the encoded bytes of the one record
}

// ocfMagic starts every Avro Object Container File.
const ocfMagic = "Obj\x01"

// parseContainer reads an OCF holding exactly one record in one block,
// strictly: every length is checked against the bytes left before anything
// is allocated, so damaged input fails fast without exhausting memory.
// (goavro's own reader trusts counts up to 2³¹ when allocating.)
func parseContainer(b []byte) (*container, error) {
	if !bytes.HasPrefix(b, []byte(ocfMagic)) {
		return nil, errors.New("not an Avro container file (wrong magic)")
	}
	p := &parser{b: b[len(ocfMagic):]}
	meta := map[string][]byte{}
	for {
		n := p.long()
		if n == 0 || p.err != nil {
			break
		}
		if n < 0 { // a negative count is followed by the block's size in bytes
			n = -n
			p.long()
		}
		if n > int64(len(p.b))/2 { // an entry takes two bytes at least
			p.fail("header map count %d exceeds the file", n)
			break
		}
		for ; n > 0 && p.err == nil; n-- {
			k, v := string(p.bytes()), p.bytes()
			if _, dup := meta[k]; dup && p.err == nil {
				p.fail("header key %q repeated", k)
			}
			meta[k] = v
		}
	}
	sync := p.next(16)
	count := p.long()
	size := p.long()
	if p.err != nil {
		return nil, fmt.Errorf("truncated container: %w", p.err)
	}
	if count != 1 {
		return nil, fmt.Errorf("block holds %d records, want 1", count)
	}
	if size <= 0 || size > int64(len(p.b)) {
		return nil, fmt.Errorf("block size %d, %d bytes left: truncated", size, len(p.b))
	}
	datum := p.next(int(size))
	if end := p.next(16); p.err != nil || !bytes.Equal(end, sync) {
		return nil, errors.New("block sync marker missing or wrong: truncated or damaged")
	}
	if len(p.b) != 0 {
		return nil, fmt.Errorf("%d bytes after the record block", len(p.b))
	}
	return &container{meta: meta, datum: datum}, nil
}

// parser reads Avro binary primitives from a byte slice. After the first
// error every read returns zero values and p.err keeps that error.
type parser struct {
	b   []byte
	err error
}

func (p *parser) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf(format, args...)
	}
}

// long reads a zig-zag varint of at most 10 bytes.
func (p *parser) long() int64 {
	if p.err != nil {
		return 0
	}
	var u uint64
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if len(p.b) == 0 {
			p.fail("unexpected end of file")
			return 0
		}
		c := p.b[0]
		p.b = p.b[1:]
		u |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return int64(u>>1) ^ -int64(u&1)
		}
	}
	p.fail("varint longer than 10 bytes")
	return 0
}

// next returns the next n bytes.
func (p *parser) next(n int) []byte {
	if p.err != nil {
		return nil
	}
	if n < 0 || n > len(p.b) {
		p.fail("unexpected end of file")
		return nil
	}
	v := p.b[:n:n]
	p.b = p.b[n:]
	return v
}

// bytes reads a length-prefixed byte string.
func (p *parser) bytes() []byte {
	n := p.long()
	if n < 0 || n > int64(len(p.b)) {
		p.fail("length %d exceeds the %d bytes left", n, len(p.b))
		return nil
	}
	return p.next(int(n))
}

// toNative returns the goavro native form of m, checksum not set.
func toNative(m *Model, format int) map[string]any {
	layers := make([]any, len(m.Network.Layers))
	for i, ly := range m.Network.Layers {
		layers[i] = map[string]any{"in": ly.In, "hidden": ly.Hidden, "w": f32Bytes(ly.W), "b": f32Bytes(ly.B)}
	}
	h := m.Network.Head
	scalers := make([]any, 0, len(m.Scalers))
	for _, id := range sortedKeys(m.Scalers) {
		scalers = append(scalers, map[string]any{"series_id": id, "scaler": scalerNative(m.Scalers[id])})
	}
	params := make([]any, 0, len(m.Threshold.Params))
	for _, k := range sortedKeys(m.Threshold.Params) {
		params = append(params, map[string]any{"key": k, "value": m.Threshold.Params[k]})
	}
	priors := make([]any, 0, len(m.Threshold.Priors))
	for _, id := range sortedKeys(m.Threshold.Priors) {
		priors = append(priors, map[string]any{"series_id": id, "prior": priorNative(m.Threshold.Priors[id])})
	}
	t := &m.Training
	loss := make([]any, len(t.Loss))
	for i, l := range t.Loss {
		loss[i] = map[string]any{"train": l.Train, "validation": l.Validation}
	}
	errs := make([]any, 0, len(t.Errors))
	for _, id := range sortedKeys(t.Errors) {
		errs = append(errs, map[string]any{"series_id": id, "stats": statsNative(t.Errors[id])})
	}
	return map[string]any{
		"format_version":  format,
		"name":            m.Name,
		"version":         m.Version,
		"created_at":      t.Created,
		"trainer_version": t.TrainerVersion,
		"features":        map[string]any{"fields": anyStrings(m.Features.Fields), "calendar": m.Features.Calendar},
		"network": map[string]any{
			"layers": layers,
			"head":   map[string]any{"in": h.In, "out": h.Out, "w": f32Bytes(h.W), "b": f32Bytes(h.B)},
		},
		"fallback_scaler": scalerNative(m.Fallback),
		"scalers":         scalers,
		"threshold": map[string]any{
			"rule": m.Threshold.Rule, "params": params,
			"prior_all": priorNative(m.Threshold.PriorAll), "priors": priors,
		},
		"training": map[string]any{
			"data_from":  t.DataFrom,
			"data_to":    t.DataTo,
			"series_ids": anyStrings(t.Series),
			"epochs":     t.Epochs,
			"best_epoch": t.BestEpoch,
			"loss":       loss,
			"errors_all": statsNative(t.ErrorsAll),
			"errors":     errs,
			"config":     string(t.Config),
		},
	}
}

func anyStrings(xs []string) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

func doubles(xs []float64) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

func scalerNative(sc *Scaler) map[string]any {
	return map[string]any{"center": doubles(sc.Center), "spread": doubles(sc.Spread)}
}

func priorNative(p Prior) map[string]any {
	return map[string]any{"count": p.Count, "mean": p.Mean, "std": p.Std, "p99": p.P99, "p999": p.P999, "max": p.Max}
}

func statsNative(s ErrorStats) map[string]any {
	return map[string]any{
		"n": int64(s.N), "mean": s.Mean, "std": s.Std,
		"p50": s.P50, "p90": s.P90, "p95": s.P95, "p99": s.P99, "max": s.Max,
	}
}

// f32Bytes encodes xs as little-endian IEEE 754 binary32.
func f32Bytes(xs []float32) []byte {
	b := make([]byte, 4*len(xs))
	for i, x := range xs {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// bytesF32 decodes little-endian IEEE 754 binary32 values.
func bytesF32(b []byte) ([]float32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("weight bytes of length %d, not a multiple of 4", len(b))
	}
	xs := make([]float32, len(b)/4)
	for i := range xs {
		xs[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return xs, nil
}

// unpacker takes a decoded record apart; after the first error every call
// returns zero values and u.err keeps that error. The codec guarantees the
// types, so these checks only guard against a mismatch of this code and
// the schema.
type unpacker struct{ err error }

func (u *unpacker) fail(format string, args ...any) {
	if u.err == nil {
		u.err = fmt.Errorf(format, args...)
	}
}

func field[T any](u *unpacker, rec map[string]any, name string) T {
	var zero T
	if u.err != nil {
		return zero
	}
	v, ok := rec[name]
	if !ok {
		u.fail("field %s missing", name)
		return zero
	}
	t, ok := v.(T)
	if !ok {
		u.fail("field %s is %T, want %T", name, v, zero)
	}
	return t
}

func items[T any](u *unpacker, rec map[string]any, name string) []T {
	arr := field[[]any](u, rec, name)
	out := make([]T, 0, len(arr))
	for i, v := range arr {
		t, ok := v.(T)
		if !ok {
			u.fail("%s[%d] is %T", name, i, v)
			return nil
		}
		out = append(out, t)
	}
	return out
}

func (u *unpacker) floats(rec map[string]any, name string) []float32 {
	b := field[[]byte](u, rec, name)
	if u.err != nil {
		return nil
	}
	xs, err := bytesF32(b)
	if err != nil {
		u.fail("%s: %w", name, err)
	}
	return xs
}

func (u *unpacker) scaler(rec map[string]any) *Scaler {
	return &Scaler{Center: items[float64](u, rec, "center"), Spread: items[float64](u, rec, "spread")}
}

func (u *unpacker) prior(rec map[string]any) Prior {
	return Prior{
		Count: field[int64](u, rec, "count"),
		Mean:  field[float64](u, rec, "mean"), Std: field[float64](u, rec, "std"),
		P99: field[float64](u, rec, "p99"), P999: field[float64](u, rec, "p999"),
		Max: field[float64](u, rec, "max"),
	}
}

func (u *unpacker) stats(rec map[string]any) ErrorStats {
	return ErrorStats{
		N:    int(field[int64](u, rec, "n")),
		Mean: field[float64](u, rec, "mean"), Std: field[float64](u, rec, "std"),
		P50: field[float64](u, rec, "p50"), P90: field[float64](u, rec, "p90"),
		P95: field[float64](u, rec, "p95"), P99: field[float64](u, rec, "p99"),
		Max: field[float64](u, rec, "max"),
	}
}

// key checks that keys arrive strictly increasing, as Save writes them.
func (u *unpacker) key(what string, prev *string, k string, i int) {
	if i > 0 && k <= *prev {
		u.fail("%s %q out of order or repeated", what, k)
	}
	*prev = k
}

func nilIfEmpty[T any](xs []T) []T {
	if len(xs) == 0 {
		return nil
	}
	return xs
}

// fromNative builds a Model from a decoded record. Empty collections come
// back nil.
func fromNative(native any, format int) (*Model, error) {
	u := &unpacker{}
	rec, ok := native.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("record is %T", native)
	}
	if v := field[int32](u, rec, "format_version"); u.err == nil && int(v) != format {
		u.fail("record format version %d != header's %d", v, format)
	}
	m := &Model{
		Name:    field[string](u, rec, "name"),
		Version: field[int64](u, rec, "version"),
	}

	feat := field[map[string]any](u, rec, "features")
	m.Features = Features{
		Fields:   nilIfEmpty(items[string](u, feat, "fields")),
		Calendar: field[bool](u, feat, "calendar"),
	}

	net := field[map[string]any](u, rec, "network")
	n := &Network{}
	for _, l := range items[map[string]any](u, net, "layers") {
		n.Layers = append(n.Layers, LSTMLayer{
			In:     int(field[int32](u, l, "in")),
			Hidden: int(field[int32](u, l, "hidden")),
			W:      u.floats(l, "w"),
			B:      u.floats(l, "b"),
		})
	}
	head := field[map[string]any](u, net, "head")
	n.Head = Dense{
		In:  int(field[int32](u, head, "in")),
		Out: int(field[int32](u, head, "out")),
		W:   u.floats(head, "w"),
		B:   u.floats(head, "b"),
	}
	m.Network = n

	m.Fallback = u.scaler(field[map[string]any](u, rec, "fallback_scaler"))
	var prev string
	for i, s := range items[map[string]any](u, rec, "scalers") {
		id := field[string](u, s, "series_id")
		u.key("scaler series", &prev, id, i)
		if m.Scalers == nil {
			m.Scalers = map[string]*Scaler{}
		}
		m.Scalers[id] = u.scaler(field[map[string]any](u, s, "scaler"))
	}

	th := field[map[string]any](u, rec, "threshold")
	m.Threshold.Rule = field[string](u, th, "rule")
	for i, p := range items[map[string]any](u, th, "params") {
		k := field[string](u, p, "key")
		u.key("threshold parameter", &prev, k, i)
		if m.Threshold.Params == nil {
			m.Threshold.Params = map[string]string{}
		}
		m.Threshold.Params[k] = field[string](u, p, "value")
	}
	m.Threshold.PriorAll = u.prior(field[map[string]any](u, th, "prior_all"))
	for i, p := range items[map[string]any](u, th, "priors") {
		id := field[string](u, p, "series_id")
		u.key("prior series", &prev, id, i)
		if m.Threshold.Priors == nil {
			m.Threshold.Priors = map[string]Prior{}
		}
		m.Threshold.Priors[id] = u.prior(field[map[string]any](u, p, "prior"))
	}

	tr := field[map[string]any](u, rec, "training")
	t := &m.Training
	t.Created = field[time.Time](u, rec, "created_at")
	t.TrainerVersion = field[string](u, rec, "trainer_version")
	t.DataFrom = field[time.Time](u, tr, "data_from")
	t.DataTo = field[time.Time](u, tr, "data_to")
	t.Series = nilIfEmpty(items[string](u, tr, "series_ids"))
	t.Epochs = int(field[int32](u, tr, "epochs"))
	t.BestEpoch = int(field[int32](u, tr, "best_epoch"))
	for _, l := range items[map[string]any](u, tr, "loss") {
		t.Loss = append(t.Loss, EpochLoss{Train: field[float64](u, l, "train"), Validation: field[float64](u, l, "validation")})
	}
	t.ErrorsAll = u.stats(field[map[string]any](u, tr, "errors_all"))
	for i, e := range items[map[string]any](u, tr, "errors") {
		id := field[string](u, e, "series_id")
		u.key("error series", &prev, id, i)
		if t.Errors == nil {
			t.Errors = map[string]ErrorStats{}
		}
		t.Errors[id] = u.stats(field[map[string]any](u, e, "stats"))
	}
	if cfg := field[string](u, tr, "config"); cfg != "" {
		t.Config = []byte(cfg)
	}
	if u.err != nil {
		return nil, u.err
	}
	return m, nil
}

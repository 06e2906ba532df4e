package avrocodec

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/linkedin/goavro/v2"
	"go.uber.org/zap"

	"github.com/vigil-stream/vigil/internal/record"
	"github.com/vigil-stream/vigil/schemas"
)

// Framing headers.
const (
	confluentMagic    = 0x00
	confluentHeader   = 5
	singleObjectMagic = 0xC3
	singleObjectVer   = 0x01
	singleObjectHead  = 10
)

// writerSchema is one writer schema, compiled once and shared.
type writerSchema struct {
	text  string
	codec *goavro.Codec
	root  *node
	fp    uint64 // CRC-64-AVRO of the Parsing Canonical Form

	planOnce sync.Once
	plan     *readingPlan
}

func compileWriter(text string) (*writerSchema, error) {
	c, err := goavro.NewCodec(text)
	if err != nil {
		return nil, fmt.Errorf("compile schema: %w", err)
	}
	root, err := parseSchema(text)
	if err != nil {
		return nil, err
	}
	root.prepare(map[*node]bool{})
	return &writerSchema{text: text, codec: c, root: root, fp: c.Rabin}, nil
}

func (w *writerSchema) readingPlan() *readingPlan {
	w.planOnce.Do(func() { w.plan = compileReadingPlan(w.root) })
	return w.plan
}

// recordType identifies one of the three records.
type recordType int

const (
	typeReading recordType = iota
	typeEvent
	typeScore
	numTypes
)

var typeNames = [numTypes]string{schemas.ReadingName, schemas.AnomalyEventName, schemas.ScoreName}

// Codec encodes and decodes Vigil records in the configured framings.
//
// A Codec is safe for concurrent use by many goroutines. Writer schemas are
// compiled once and cached by fingerprint and by registry id; the caches are
// copy-on-write, so decoding a payload whose schema is already known takes
// no lock and makes no network call. Only the first payload with a new
// Confluent schema id (and the first Confluent encode of each record type)
// blocks on the registry, for at most Config.RegistryTimeout or until ctx
// ends.
type Codec struct {
	cfg Config
	reg Registry
	log *zap.Logger

	current [numTypes]*writerSchema
	ids     [numTypes]atomic.Int64 // registry id of current[t] under its subject; 0 unknown

	mu   sync.Mutex // serialises updates of byFP and byID
	byFP atomic.Pointer[map[uint64]*writerSchema]
	byID atomic.Pointer[map[int]*writerSchema]

	ownReg *RegistryClient // closed by Close if New created it
}

// New returns a Codec. reg resolves Confluent schema ids; if nil and
// cfg.RegistryURL is set, New creates a RegistryClient (closed by Close).
// Without either, Confluent framing is refused and Confluent-framed input
// under auto fails with ErrUnknownSchema. A nil logger logs nothing. New
// loads cfg.SchemaDir, if set; it makes no network request.
func New(cfg Config, reg Registry, logger *zap.Logger) (*Codec, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new codec: %w", err)
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	c := &Codec{cfg: cfg, reg: reg, log: logger}
	if reg == nil && cfg.RegistryURL == "" && (cfg.Framing == FramingConfluent || cfg.InputFraming == FramingConfluent) {
		return nil, errors.New("new codec: confluent framing needs a schema registry: set codec.registry-url")
	}
	if reg == nil && cfg.RegistryURL != "" {
		rc, err := NewRegistryClient(cfg, nil, logger)
		if err != nil {
			return nil, fmt.Errorf("new codec: %w", err)
		}
		c.reg, c.ownReg = rc, rc
	}
	empty := map[uint64]*writerSchema{}
	c.byFP.Store(&empty)
	emptyID := map[int]*writerSchema{}
	c.byID.Store(&emptyID)
	for t, text := range [numTypes]string{schemas.Reading, schemas.AnomalyEvent, schemas.Score} {
		w, err := c.addWriter(text)
		if err != nil {
			return nil, fmt.Errorf("new codec: embedded schema %s: %w", typeNames[t], err)
		}
		c.current[t] = w
	}
	if cfg.SchemaDir != "" {
		files, err := filepath.Glob(filepath.Join(cfg.SchemaDir, "*.avsc"))
		if err != nil {
			return nil, fmt.Errorf("new codec: schema dir: %w", err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("new codec: %w", err)
			}
			fp, err := c.AddWriterSchema(string(b))
			if err != nil {
				return nil, fmt.Errorf("new codec: %s: %w", f, err)
			}
			c.log.Info("known writer schema", zap.String("file", f), zap.String("fingerprint", fmt.Sprintf("%016x", fp)))
		}
	}
	return c, nil
}

// Close releases the registry client New created, if any. Codecs need no
// closing otherwise.
func (c *Codec) Close() {
	if c.ownReg != nil {
		c.ownReg.Close()
	}
}

// AddWriterSchema makes a further writer schema (an older or newer version
// of one of the records) known to single-object decoding, and returns its
// fingerprint. Safe for concurrent use.
func (c *Codec) AddWriterSchema(text string) (fingerprint uint64, err error) {
	w, err := c.addWriter(text)
	if err != nil {
		return 0, fmt.Errorf("add writer schema: %w", err)
	}
	return w.fp, nil
}

func (c *Codec) addWriter(text string) (*writerSchema, error) {
	w, err := compileWriter(text)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.byFP.Load()
	if known, ok := old[w.fp]; ok {
		return known, nil
	}
	m := make(map[uint64]*writerSchema, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[w.fp] = w
	c.byFP.Store(&m)
	return w, nil
}

// Fingerprint returns the CRC-64-AVRO fingerprint of the current schema of
// a record: "reading", "event" or "score".
func (c *Codec) Fingerprint(record string) (uint64, bool) {
	switch record {
	case "reading":
		return c.current[typeReading].fp, true
	case "event":
		return c.current[typeEvent].fp, true
	case "score":
		return c.current[typeScore].fp, true
	}
	return 0, false
}

// writerByID returns the writer schema of a Confluent id, asking the
// registry on a cache miss.
func (c *Codec) writerByID(ctx context.Context, id int) (*writerSchema, *DecodeError) {
	if w, ok := (*c.byID.Load())[id]; ok {
		return w, nil
	}
	if c.reg == nil {
		return nil, &DecodeError{Kind: ErrUnknownSchema, Framing: FramingConfluent, Offset: 1, Detail: fmt.Sprintf("schema id %d: no registry configured", id)}
	}
	text, err := c.reg.SchemaByID(ctx, id)
	if err != nil {
		k := ErrRegistryUnavailable
		if errors.Is(err, ErrSchemaNotFound) {
			k = ErrUnknownSchema
		} else {
			c.log.Warn("schema registry lookup failed", zap.Int("id", id), zap.Error(err))
		}
		return nil, &DecodeError{Kind: k, Framing: FramingConfluent, Offset: 1, Err: err}
	}
	w, err := c.addWriter(text)
	if err != nil {
		return nil, &DecodeError{Kind: ErrUnknownSchema, Framing: FramingConfluent, Offset: 1, Detail: fmt.Sprintf("schema id %d does not compile", id), Err: err}
	}
	c.mu.Lock()
	old := *c.byID.Load()
	m := make(map[int]*writerSchema, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[id] = w
	c.byID.Store(&m)
	c.mu.Unlock()
	c.log.Info("writer schema from registry", zap.Int("id", id), zap.String("fingerprint", fmt.Sprintf("%016x", w.fp)))
	return w, nil
}

// detect resolves FramingAuto from the payload's first bytes.
func (c *Codec) detect(payload []byte) (Framing, *DecodeError) {
	f := c.cfg.InputFraming
	if len(payload) > c.cfg.MaxPayloadBytes {
		if f == FramingAuto {
			f = ""
		}
		return f, &DecodeError{Kind: ErrTooLarge, Framing: f, Offset: -1, Detail: fmt.Sprintf("%d bytes, limit %d", len(payload), c.cfg.MaxPayloadBytes)}
	}
	if f != FramingAuto {
		return f, nil
	}
	switch {
	case len(payload) == 0:
		return FramingAuto, &DecodeError{Kind: ErrMalformed, Framing: FramingAuto, Offset: 0, Detail: "empty payload"}
	case payload[0] == confluentMagic:
		return FramingConfluent, nil
	case payload[0] == singleObjectMagic:
		return FramingSingleObject, nil
	}
	if t := bytes.TrimLeft(payload, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		return FramingJSON, nil
	}
	return FramingAuto, &DecodeError{Kind: ErrMalformed, Framing: FramingAuto, Offset: 0, Detail: fmt.Sprintf("first byte 0x%02x is no known framing", payload[0])}
}

// body strips the framing header of an Avro payload and finds its writer
// schema.
func (c *Codec) body(ctx context.Context, f Framing, payload []byte) (*writerSchema, []byte, *DecodeError) {
	switch f {
	case FramingConfluent:
		if len(payload) < confluentHeader {
			return nil, nil, &DecodeError{Kind: ErrMalformed, Framing: f, Offset: len(payload), Detail: "shorter than the 5-byte header"}
		}
		if payload[0] != confluentMagic {
			return nil, nil, &DecodeError{Kind: ErrMalformed, Framing: f, Offset: 0, Detail: fmt.Sprintf("magic byte 0x%02x, want 0x00", payload[0])}
		}
		id := int(int32(binary.BigEndian.Uint32(payload[1:5])))
		if id <= 0 {
			return nil, nil, &DecodeError{Kind: ErrUnknownSchema, Framing: f, Offset: 1, Detail: fmt.Sprintf("schema id %d is not a registry id", id)}
		}
		w, err := c.writerByID(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		return w, payload[confluentHeader:], nil
	case FramingSingleObject:
		if len(payload) < singleObjectHead {
			return nil, nil, &DecodeError{Kind: ErrMalformed, Framing: f, Offset: len(payload), Detail: "shorter than the 10-byte header"}
		}
		if payload[0] != singleObjectMagic || payload[1] != singleObjectVer {
			return nil, nil, &DecodeError{Kind: ErrMalformed, Framing: f, Offset: 0, Detail: fmt.Sprintf("marker 0x%02x%02x, want 0xc301", payload[0], payload[1])}
		}
		fp := binary.LittleEndian.Uint64(payload[2:10])
		w, ok := (*c.byFP.Load())[fp]
		if !ok {
			return nil, nil, &DecodeError{Kind: ErrUnknownSchema, Framing: f, Offset: 2, Detail: fmt.Sprintf("fingerprint %016x", fp)}
		}
		return w, payload[singleObjectHead:], nil
	}
	return nil, nil, &DecodeError{Kind: ErrMalformed, Framing: f, Offset: -1, Detail: "not an Avro framing"}
}

func headerLen(f Framing) int {
	if f == FramingConfluent {
		return confluentHeader
	}
	return singleObjectHead
}

// finish names the record in a decode error and turns a panic inside a
// decoder into a DecodeError, so that no payload can crash the consumer.
// Deferred by every Decode method.
func finish(rec string, err *error) {
	if r := recover(); r != nil {
		*err = &DecodeError{Kind: ErrMalformed, Offset: -1, Detail: fmt.Sprintf("decoder panic: %v", r)}
	}
	if *err != nil {
		var de *DecodeError
		if errors.As(*err, &de) {
			de.Record = rec
		}
	}
}

// DecodeReading decodes one reading. Every error is a *DecodeError; see
// Reason and Retryable. The result is validated (series id present, value
// and fields finite). It blocks only when a Confluent schema id is seen for
// the first time.
func (c *Codec) DecodeReading(ctx context.Context, payload []byte) (r record.Reading, err error) {
	defer finish("reading", &err)
	f, de := c.detect(payload)
	if de != nil {
		return r, de
	}
	if f == FramingJSON {
		m, de := decodeJSONObject(payload)
		if de != nil {
			return r, de
		}
		p := projector{framing: f}
		r = readingFromNative(&p, m)
		if p.err != nil {
			return record.Reading{}, p.err
		}
	} else {
		w, body, de := c.body(ctx, f, payload)
		if de != nil {
			return r, de
		}
		rd := newReader(body)
		if de := w.readingPlan().decode(&rd, &r); de != nil {
			de.Framing = f
			if de.Offset >= 0 {
				de.Offset += headerLen(f)
			}
			return record.Reading{}, de
		}
		if rd.pos != len(body) {
			return record.Reading{}, &DecodeError{Kind: ErrMalformed, Framing: f, Offset: headerLen(f) + rd.pos, Detail: fmt.Sprintf("%d trailing bytes", len(body)-rd.pos)}
		}
	}
	if err := checkReading(&r, f); err != nil {
		return record.Reading{}, err
	}
	return r, nil
}

// decodeNative decodes an Avro or JSON payload of record type t into its
// native form: for Avro, the payload is first walked with the writer schema
// (bounds- and count-checked), then decoded by goavro.
func (c *Codec) decodeNative(ctx context.Context, t recordType, payload []byte) (map[string]any, Framing, *DecodeError) {
	f, de := c.detect(payload)
	if de != nil {
		return nil, f, de
	}
	if f == FramingJSON {
		m, de := decodeJSONObject(payload)
		return m, f, de
	}
	w, body, de := c.body(ctx, f, payload)
	if de != nil {
		return nil, f, de
	}
	if w.root.kind != kRecord || w.root.name != typeNames[t] {
		return nil, f, &DecodeError{Kind: ErrIncompatibleSchema, Framing: f, Offset: -1, Detail: fmt.Sprintf("writer schema is %s, not %s", describe(w.root), typeNames[t])}
	}
	rd := newReader(body)
	if err := rd.skip(w.root, 0); err != nil {
		var we *wireError
		if errors.As(err, &we) {
			return nil, f, &DecodeError{Kind: ErrMalformed, Framing: f, Offset: headerLen(f) + we.off, Detail: we.msg}
		}
		return nil, f, &DecodeError{Kind: ErrMalformed, Framing: f, Offset: -1, Err: err}
	}
	if rd.pos != len(body) {
		return nil, f, &DecodeError{Kind: ErrMalformed, Framing: f, Offset: headerLen(f) + rd.pos, Detail: fmt.Sprintf("%d trailing bytes", len(body)-rd.pos)}
	}
	v, _, err := w.codec.NativeFromBinary(body)
	if err != nil {
		return nil, f, &DecodeError{Kind: ErrMalformed, Framing: f, Offset: -1, Err: err}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, f, &DecodeError{Kind: ErrIncompatibleSchema, Framing: f, Offset: -1, Detail: "writer schema is not a record"}
	}
	return m, f, nil
}

// DecodeEvent decodes one anomaly event. Every error is a *DecodeError. The
// result is validated. It blocks only when a Confluent schema id is seen for
// the first time.
func (c *Codec) DecodeEvent(ctx context.Context, payload []byte) (e record.Event, err error) {
	defer finish("event", &err)
	m, f, de := c.decodeNative(ctx, typeEvent, payload)
	if de != nil {
		return e, de
	}
	p := projector{framing: f}
	e = eventFromNative(&p, m)
	if p.err != nil {
		return record.Event{}, p.err
	}
	if err := e.Validate(); err != nil {
		return record.Event{}, validationError(err, f)
	}
	return e, nil
}

// DecodeScore decodes one score. Every error is a *DecodeError. The result is
// validated. It blocks only when a Confluent schema id is seen for the first
// time.
func (c *Codec) DecodeScore(ctx context.Context, payload []byte) (s record.Score, err error) {
	defer finish("score", &err)
	m, f, de := c.decodeNative(ctx, typeScore, payload)
	if de != nil {
		return s, de
	}
	p := projector{framing: f}
	s = scoreFromNative(&p, m)
	if p.err != nil {
		return record.Score{}, p.err
	}
	if err := s.Validate(); err != nil {
		return record.Score{}, validationError(err, f)
	}
	return s, nil
}

// decodeJSONObject decodes a single JSON object, numbers kept exact.
func decodeJSONObject(payload []byte) (map[string]any, *DecodeError) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		off := int(dec.InputOffset())
		var se *json.SyntaxError
		if errors.As(err, &se) {
			off = int(se.Offset)
		}
		return nil, &DecodeError{Kind: ErrMalformed, Framing: FramingJSON, Offset: off, Detail: "want a JSON object", Err: err}
	}
	if m == nil {
		return nil, &DecodeError{Kind: ErrMalformed, Framing: FramingJSON, Offset: 0, Detail: "want a JSON object, got null"}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &DecodeError{Kind: ErrMalformed, Framing: FramingJSON, Offset: int(dec.InputOffset()), Detail: "data after the JSON object"}
	}
	return m, nil
}

// Encoding.

// EncodeReading appends r, in the configured framing, to dst and returns the
// extended slice. r is validated first. With Confluent framing the first call
// registers (or looks up) the schema and blocks on the registry.
func (c *Codec) EncodeReading(ctx context.Context, dst []byte, r *record.Reading) ([]byte, error) {
	if err := r.Validate(); err != nil {
		return dst, fmt.Errorf("encode reading: %w", err)
	}
	out, err := c.encode(ctx, typeReading, dst, readingNative(r))
	if err != nil {
		return dst, fmt.Errorf("encode reading: %w", err)
	}
	return out, nil
}

// EncodeEvent appends e, in the configured framing, to dst. e is validated
// first. Blocking as for EncodeReading.
func (c *Codec) EncodeEvent(ctx context.Context, dst []byte, e *record.Event) ([]byte, error) {
	if err := e.Validate(); err != nil {
		return dst, fmt.Errorf("encode event: %w", err)
	}
	out, err := c.encode(ctx, typeEvent, dst, eventNative(e))
	if err != nil {
		return dst, fmt.Errorf("encode event: %w", err)
	}
	return out, nil
}

// EncodeScore appends s, in the configured framing, to dst. s is validated
// first. Blocking as for EncodeReading.
func (c *Codec) EncodeScore(ctx context.Context, dst []byte, s *record.Score) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return dst, fmt.Errorf("encode score: %w", err)
	}
	switch c.cfg.Framing {
	case FramingSingleObject:
		dst = append(dst, singleObjectMagic, singleObjectVer)
		dst = binary.LittleEndian.AppendUint64(dst, c.current[typeScore].fp)
		return appendScoreBody(dst, s), nil
	case FramingConfluent:
		id, err := c.schemaID(ctx, typeScore)
		if err != nil {
			return dst, fmt.Errorf("encode score: %w", err)
		}
		dst = append(dst, confluentMagic)
		dst = binary.BigEndian.AppendUint32(dst, uint32(id))
		return appendScoreBody(dst, s), nil
	}
	out, err := c.encode(ctx, typeScore, dst, scoreNative(s))
	if err != nil {
		return dst, fmt.Errorf("encode score: %w", err)
	}
	return out, nil
}

func (c *Codec) encode(ctx context.Context, t recordType, dst []byte, native map[string]any) ([]byte, error) {
	w := c.current[t]
	switch c.cfg.Framing {
	case FramingJSON:
		b, err := json.Marshal(native)
		if err != nil {
			return dst, err
		}
		return append(dst, b...), nil
	case FramingSingleObject:
		dst = append(dst, singleObjectMagic, singleObjectVer)
		dst = binary.LittleEndian.AppendUint64(dst, w.fp)
		return w.codec.BinaryFromNative(dst, native)
	case FramingConfluent:
		id, err := c.schemaID(ctx, t)
		if err != nil {
			return dst, err
		}
		dst = append(dst, confluentMagic)
		dst = binary.BigEndian.AppendUint32(dst, uint32(id))
		return w.codec.BinaryFromNative(dst, native)
	}
	return dst, fmt.Errorf("framing %q cannot encode", c.cfg.Framing)
}

// schemaID returns the registry id of the current schema of t under its
// subject, registering it if so configured.
func (c *Codec) schemaID(ctx context.Context, t recordType) (int, error) {
	if id := c.ids[t].Load(); id != 0 {
		return int(id), nil
	}
	if c.reg == nil {
		return 0, errors.New("confluent framing without a registry")
	}
	subject := [numTypes]string{c.cfg.ReadingSubject, c.cfg.EventSubject, c.cfg.ScoreSubject}[t]
	var id int
	var err error
	if c.cfg.AutoRegister {
		id, err = c.reg.Register(ctx, subject, c.current[t].text)
	} else {
		id, err = c.reg.Lookup(ctx, subject, c.current[t].text)
	}
	if err != nil {
		return 0, err
	}
	c.ids[t].Store(int64(id))
	// Our own id needs no registry round trip when read back.
	c.mu.Lock()
	old := *c.byID.Load()
	if _, ok := old[id]; !ok {
		m := make(map[int]*writerSchema, len(old)+1)
		for k, v := range old {
			m[k] = v
		}
		m[id] = c.current[t]
		c.byID.Store(&m)
	}
	c.mu.Unlock()
	return id, nil
}

// Open returns a Codec for cfg with, when cfg.RegistryURL is set, a
// registry client (NewRegistryClient over the default HTTP client): what
// every binary needs.
func Open(cfg Config, logger *zap.Logger) (*Codec, error) {
	var reg Registry
	if cfg.RegistryURL != "" {
		rc, err := NewRegistryClient(cfg, nil, logger)
		if err != nil {
			return nil, fmt.Errorf("schema registry client: %w", err)
		}
		reg = rc
	}
	return New(cfg, reg, logger)
}

package avrocodec

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/vigil-stream/vigil/internal/record"
	"github.com/vigil-stream/vigil/schemas"
)

func TestRegistryClientCachesByID(t *testing.T) {
	fake, rc, tr := fakeRegistry(t)
	seed(fake, "vigil.readings-value", 1, 11, schemas.Reading)
	for i := 0; i < 3; i++ {
		s, err := rc.SchemaByID(bg, 11)
		if err != nil {
			t.Fatalf("SchemaByID: %v", err)
		}
		if !strings.Contains(s, `"io.vigil"`) {
			t.Fatalf("unexpected schema %q", s)
		}
	}
	if n := tr.n.Load(); n != 1 {
		t.Fatalf("%d requests for one id, want 1", n)
	}
}

func TestRegistryClientRegisterAndLookup(t *testing.T) {
	fake, rc, tr := fakeRegistry(t)
	id, err := rc.Register(bg, "vigil.scores-value", schemas.Score)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	if _, ok := fake.GetSchema("vigil.scores-value", 1); !ok {
		t.Fatal("schema not registered in the fake")
	}
	again, err := rc.Register(bg, "vigil.scores-value", schemas.Score)
	if err != nil || again != id {
		t.Fatalf("second Register = %d, %v; want %d", again, err, id)
	}
	if got, err := rc.SchemaByID(bg, id); err != nil || got != schemas.Score {
		t.Fatalf("SchemaByID after Register: %v", err)
	}
	if n := tr.n.Load(); n != 1 {
		t.Fatalf("%d requests, want 1 (both directions cached)", n)
	}
	// Lookup of a registered schema under a fresh client.
	rc2, err := NewRegistryClient(Config{RegistryURL: fake.URL(), RegistryTimeout: time.Second}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc2.Close()
	if got, err := rc2.Lookup(bg, "vigil.scores-value", schemas.Score); err != nil || got != id {
		t.Fatalf("Lookup = %d, %v; want %d", got, err, id)
	}
	if _, err := rc2.Lookup(bg, "vigil.scores-value", schemas.Reading); !errors.Is(err, ErrSchemaNotFound) {
		t.Fatalf("Lookup of unregistered schema = %v, want ErrSchemaNotFound", err)
	}
}

func TestRegistryClientUnknownID(t *testing.T) {
	_, rc, tr := fakeRegistry(t)
	_, err := rc.SchemaByID(bg, 404)
	if !errors.Is(err, ErrSchemaNotFound) || errors.Is(err, ErrRegistryDown) {
		t.Fatalf("SchemaByID(unknown) = %v, want ErrSchemaNotFound", err)
	}
	var re *sr.ResponseError
	if !errors.As(err, &re) || re.ErrorCode != sr.ErrSchemaNotFound.Code {
		t.Fatalf("registry response not kept in the chain: %v", err)
	}
	// Negative cache: the second lookup makes no request.
	if _, err := rc.SchemaByID(bg, 404); !errors.Is(err, ErrSchemaNotFound) {
		t.Fatalf("second SchemaByID = %v", err)
	}
	if n := tr.n.Load(); n != 1 {
		t.Fatalf("%d requests, want 1 (negative cache)", n)
	}
	// After the TTL the registry is asked again.
	rc.now = func() time.Time { return time.Now().Add(time.Hour) }
	_, _ = rc.SchemaByID(bg, 404)
	if n := tr.n.Load(); n != 2 {
		t.Fatalf("%d requests after TTL, want 2", n)
	}
}

func TestRegistryDown(t *testing.T) {
	fake, rc, tr := fakeRegistry(t)
	seed(fake, "vigil.readings-value", 1, 5, schemas.Reading)
	var mu sync.Mutex
	down := true
	fake.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		if !down {
			return false
		}
		w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		w.WriteHeader(http.StatusInternalServerError)
		_ = json.NewEncoder(w).Encode(sr.ResponseError{ErrorCode: 50001, Message: "Error in backend datastore"})
		return true
	})
	_, err := rc.SchemaByID(bg, 5)
	if !errors.Is(err, ErrRegistryDown) || errors.Is(err, ErrSchemaNotFound) {
		t.Fatalf("SchemaByID on HTTP 500 = %v, want ErrRegistryDown", err)
	}
	c := newCodec(t, nil, rc)
	r := sampleReading()
	body := soe(t, schemas.Reading, readingNative(&r))[10:]
	payload := append([]byte{0, 0, 0, 0, 5}, body...)
	_, err = c.DecodeReading(bg, payload)
	if !errors.Is(err, ErrRegistryUnavailable) || !Retryable(err) || Reason(err) != "registry_unavailable" {
		t.Fatalf("DecodeReading with registry down = %v, want retryable registry_unavailable", err)
	}
	if !errors.Is(err, ErrRegistryDown) {
		t.Fatalf("underlying registry error lost: %v", err)
	}
	// Errors are not cached: once the registry recovers, decoding works.
	mu.Lock()
	down = false
	mu.Unlock()
	got, err := c.DecodeReading(bg, payload)
	if err != nil {
		t.Fatalf("DecodeReading after recovery: %v", err)
	}
	assertReading(t, got, r)
	before := tr.n.Load()
	for i := 0; i < 10; i++ {
		if _, err := c.DecodeReading(bg, payload); err != nil {
			t.Fatal(err)
		}
	}
	if tr.n.Load() != before {
		t.Fatalf("cached id caused %d more requests", tr.n.Load()-before)
	}
}

func TestRegistryUnreachable(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RegistryURL = "http://127.0.0.1:1" // nothing listens on port 1
	cfg.RegistryTimeout = time.Second
	rc, err := NewRegistryClient(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := rc.SchemaByID(bg, 1); !errors.Is(err, ErrRegistryDown) {
		t.Fatalf("SchemaByID unreachable = %v, want ErrRegistryDown", err)
	}
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if _, err := rc.Register(ctx, "s-value", schemas.Reading); !errors.Is(err, ErrRegistryDown) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Register with cancelled ctx = %v", err)
	}
}

func TestConfluentEncodeRegistersOnce(t *testing.T) {
	fake, rc, tr := fakeRegistry(t)
	c := newCodec(t, withFraming(FramingConfluent), rc)
	r := sampleReading()
	var first []byte
	for i := 0; i < 5; i++ {
		b, err := c.EncodeReading(bg, nil, &r)
		if err != nil {
			t.Fatalf("EncodeReading: %v", err)
		}
		first = b
	}
	ss, ok := fake.GetSchema(DefaultReadingSubject, 1)
	if !ok {
		t.Fatalf("reading schema not registered under %s", DefaultReadingSubject)
	}
	if id := int(first[1])<<24 | int(first[2])<<16 | int(first[3])<<8 | int(first[4]); first[0] != 0 || id != ss.ID {
		t.Fatalf("header % x, want magic 0 and id %d", first[:5], ss.ID)
	}
	if n := tr.n.Load(); n != 1 {
		t.Fatalf("%d registry requests for 5 encodes, want 1", n)
	}
	// Decoding our own id needs no request either.
	if _, err := c.DecodeReading(bg, first); err != nil {
		t.Fatal(err)
	}
	if n := tr.n.Load(); n != 1 {
		t.Fatalf("%d registry requests after decode, want 1", n)
	}
}

func TestConfluentEncodeWithoutAutoRegister(t *testing.T) {
	fake, rc, _ := fakeRegistry(t)
	c := newCodec(t, func(cfg *Config) { withFraming(FramingConfluent)(cfg); cfg.AutoRegister = false }, rc)
	ev := sampleEvent()
	if _, err := c.EncodeEvent(bg, nil, &ev); !errors.Is(err, ErrSchemaNotFound) {
		t.Fatalf("EncodeEvent of unregistered schema = %v, want ErrSchemaNotFound", err)
	}
	seed(fake, DefaultEventSubject, 1, 31, schemas.AnomalyEvent)
	b, err := c.EncodeEvent(bg, nil, &ev)
	if err != nil {
		t.Fatalf("EncodeEvent after registration: %v", err)
	}
	if b[4] != 31 {
		t.Fatalf("schema id byte %d, want 31", b[4])
	}
	got, err := c.DecodeEvent(bg, b)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != ev.ID || got.Kind != record.EventUpdated {
		t.Fatalf("decoded %+v", got)
	}
}

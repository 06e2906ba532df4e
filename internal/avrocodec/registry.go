package avrocodec

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"
)

// Registry resolves Confluent schema ids to schema texts and schemas to ids
// under a subject. The Codec consumes it; RegistryClient implements it over
// HTTP. Implementations must be safe for concurrent use. Every method may
// block on the network and must honour ctx.
type Registry interface {
	// SchemaByID returns the schema text registered under id. An id the
	// registry does not know yields an error wrapping ErrSchemaNotFound;
	// an unreachable or failing registry one wrapping ErrRegistryDown. The
	// Codec treats every error but ErrSchemaNotFound as transient
	// (ErrRegistryUnavailable).
	SchemaByID(ctx context.Context, id int) (string, error)
	// Register registers schema under subject (a no-op returning the
	// existing id if it is already registered) and returns its id.
	Register(ctx context.Context, subject, schema string) (int, error)
	// Lookup returns the id of schema under subject without registering
	// it; ErrSchemaNotFound if it is not registered there.
	Lookup(ctx context.Context, subject, schema string) (int, error)
}

var _ Registry = (*RegistryClient)(nil)

// Registry errors; wrapped with the operation and returned by RegistryClient.
var (
	// ErrSchemaNotFound: the registry answered that the id, subject or
	// schema does not exist (error codes 40401, 40402, 40403).
	ErrSchemaNotFound = errors.New("schema not found in registry")
	// ErrRegistryDown: the registry could not be reached, timed out or
	// answered with an unexpected error. Retrying later may succeed.
	ErrRegistryDown = errors.New("schema registry unavailable")
)

// RegistryClient is a Confluent Schema Registry client with caches in both
// directions: id → schema text, and (subject, schema) → id. Registered
// schemas are immutable, so positive entries never expire; ids the registry
// reported unknown are remembered for Config.RegistryNegativeTTL.
// Concurrent requests for the same key share one HTTP request.
//
// A RegistryClient is safe for concurrent use. Its methods block for at most
// Config.RegistryTimeout per HTTP request, or until ctx ends.
type RegistryClient struct {
	cl      *sr.Client
	hc      *http.Client
	timeout time.Duration
	negTTL  time.Duration
	log     *zap.Logger
	now     func() time.Time

	mu      sync.RWMutex
	byID    map[int]string
	ids     map[subjectSchema]int
	unknown map[int]time.Time

	flight singleflight.Group
}

type subjectSchema struct{ subject, schema string }

// NewRegistryClient returns a client for cfg.RegistryURL. hc is the HTTP
// client to use; nil means a new one with default transport settings. The
// client makes no request until first used.
func NewRegistryClient(cfg Config, hc *http.Client, logger *zap.Logger) (*RegistryClient, error) {
	urls := cfg.registryURLs()
	if len(urls) == 0 {
		return nil, errors.New("new registry client: no registry url")
	}
	if hc == nil {
		hc = &http.Client{}
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	timeout := cfg.RegistryTimeout
	if timeout <= 0 {
		timeout = DefaultRegistryTimeout
	}
	cl, err := sr.NewClient(sr.URLs(urls...), sr.HTTPClient(hc), sr.UserAgent("vigil-avrocodec"))
	if err != nil {
		return nil, fmt.Errorf("new registry client: %w", err)
	}
	return &RegistryClient{
		cl:      cl,
		hc:      hc,
		timeout: timeout,
		negTTL:  cfg.RegistryNegativeTTL,
		log:     logger.Named("registry"),
		now:     time.Now,
		byID:    map[int]string{},
		ids:     map[subjectSchema]int{},
		unknown: map[int]time.Time{},
	}, nil
}

// Close releases idle HTTP connections. The client stays usable.
func (c *RegistryClient) Close() { c.hc.CloseIdleConnections() }

// SchemaByID implements Registry.
func (c *RegistryClient) SchemaByID(ctx context.Context, id int) (string, error) {
	c.mu.RLock()
	s, ok := c.byID[id]
	until, neg := c.unknown[id]
	c.mu.RUnlock()
	if ok {
		return s, nil
	}
	if neg && c.now().Before(until) {
		return "", fmt.Errorf("schema id %d: %w (cached)", id, ErrSchemaNotFound)
	}
	v, err := c.shared(ctx, "id:"+strconv.Itoa(id), func(rctx context.Context) (any, error) {
		// A caller that missed the cache just before an earlier flight for
		// the same id finished starts a flight of its own: check again.
		c.mu.Lock()
		cached, ok := c.byID[id]
		c.mu.Unlock()
		if ok {
			return cached, nil
		}
		sch, err := c.cl.SchemaByID(rctx, id)
		if err != nil {
			err = classify(err)
			if errors.Is(err, ErrSchemaNotFound) && c.negTTL > 0 {
				c.mu.Lock()
				c.unknown[id] = c.now().Add(c.negTTL)
				c.mu.Unlock()
			}
			return "", err
		}
		if sch.Type != sr.TypeAvro {
			return "", fmt.Errorf("schema type %s, want AVRO: %w", sch.Type, ErrSchemaNotFound)
		}
		if len(sch.References) > 0 {
			return "", fmt.Errorf("schema references are not supported: %w", ErrSchemaNotFound)
		}
		c.mu.Lock()
		c.byID[id] = sch.Schema
		delete(c.unknown, id)
		c.mu.Unlock()
		c.log.Debug("fetched schema", zap.Int("id", id))
		return sch.Schema, nil
	})
	if err != nil {
		return "", fmt.Errorf("schema id %d: %w", id, err)
	}
	return v.(string), nil
}

// Register implements Registry.
func (c *RegistryClient) Register(ctx context.Context, subject, schema string) (int, error) {
	return c.subjectID(ctx, "register", subject, schema)
}

// Lookup implements Registry.
func (c *RegistryClient) Lookup(ctx context.Context, subject, schema string) (int, error) {
	return c.subjectID(ctx, "lookup", subject, schema)
}

func (c *RegistryClient) subjectID(ctx context.Context, op, subject, schema string) (int, error) {
	key := subjectSchema{subject, schema}
	c.mu.RLock()
	id, ok := c.ids[key]
	c.mu.RUnlock()
	if ok {
		return id, nil
	}
	v, err := c.shared(ctx, op+":"+subject+"\x00"+schema, func(rctx context.Context) (any, error) {
		c.mu.RLock()
		cached, ok := c.ids[key]
		c.mu.RUnlock()
		if ok {
			return cached, nil
		}
		s := sr.Schema{Schema: schema, Type: sr.TypeAvro}
		var id int
		var err error
		if op == "register" {
			id, err = c.cl.RegisterSchema(rctx, subject, s, -1, -1)
		} else {
			var ss sr.SubjectSchema
			ss, err = c.cl.LookupSchema(rctx, subject, s)
			id = ss.ID
		}
		if err != nil {
			return 0, classify(err)
		}
		c.mu.Lock()
		c.ids[key] = id
		if _, ok := c.byID[id]; !ok {
			c.byID[id] = schema
		}
		c.mu.Unlock()
		c.log.Info("schema id resolved", zap.String("op", op), zap.String("subject", subject), zap.Int("id", id))
		return id, nil
	})
	if err != nil {
		return 0, fmt.Errorf("%s schema under subject %q: %w", op, subject, err)
	}
	return v.(int), nil
}

// shared runs fn once for all concurrent callers with the same key. fn gets a
// context detached from any one caller's cancellation and bounded by the
// request timeout; each caller still stops waiting when its own ctx ends.
func (c *RegistryClient) shared(ctx context.Context, key string, fn func(context.Context) (any, error)) (any, error) {
	ch := c.flight.DoChan(key, func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
		defer cancel()
		return fn(rctx)
	})
	select {
	case res := <-ch:
		return res.Val, res.Err
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrRegistryDown, ctx.Err())
	}
}

// classify wraps a registry client error with ErrSchemaNotFound or
// ErrRegistryDown, keeping the original in the chain.
func classify(err error) error {
	var re *sr.ResponseError
	if errors.As(err, &re) {
		switch re.ErrorCode {
		case sr.ErrSubjectNotFound.Code, sr.ErrVersionNotFound.Code, sr.ErrSchemaNotFound.Code:
			return fmt.Errorf("%w: %w", ErrSchemaNotFound, err)
		}
		if re.StatusCode >= 400 && re.StatusCode < 500 && re.StatusCode != http.StatusRequestTimeout && re.StatusCode != http.StatusTooManyRequests {
			// A request the registry refuses (invalid or incompatible
			// schema, bad credentials): not transient, not "not found".
			return fmt.Errorf("registry refused request (HTTP %d, code %d): %w", re.StatusCode, re.ErrorCode, err)
		}
		return fmt.Errorf("%w: HTTP %d: %w", ErrRegistryDown, re.StatusCode, err)
	}
	return fmt.Errorf("%w: %w", ErrRegistryDown, err)
}

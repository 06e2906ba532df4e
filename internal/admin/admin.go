package admin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// Config is the admin HTTP listener.
type Config struct {
	// Addr is the listen address; empty disables the server. Default :9464.
	Addr string `yaml:"addr"`
}

// RegisterFlags registers the admin flags.
func (c *Config) RegisterFlags(f *flag.FlagSet) {
	f.StringVar(&c.Addr, "admin.addr", ":9464", "Listen address for /metrics, /healthz and /readyz; empty disables them.")
}

// Validate checks the address.
func (c *Config) Validate() error {
	if c.Addr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("admin.addr: %w", err)
	}
	return nil
}

// Check reports nil when healthy (or ready), else why not.
type Check func() error

// Server serves the admin endpoints. Create it with New and run it with Run.
type Server struct {
	cfg    Config
	log    *zap.Logger
	mux    *http.ServeMux
	ln     net.Listener
	health Check
	ready  Check
}

// New listens on cfg.Addr (so that a busy port is reported at start-up,
// not later) and returns a server for gatherer's metrics and the given
// checks; a nil check always passes.
func New(cfg Config, gatherer prometheus.Gatherer, health, ready Check, logger *zap.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: logger, mux: http.NewServeMux(), health: health, ready: ready}
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{ErrorLog: zap.NewStdLog(logger)}))
	s.mux.HandleFunc("GET /healthz", s.check(func() Check { return s.health }))
	s.mux.HandleFunc("GET /readyz", s.check(func() Check { return s.ready }))
	if cfg.Addr != "" {
		var lc net.ListenConfig
		ln, err := lc.Listen(context.Background(), "tcp", cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("admin listener: %w", err)
		}
		s.ln = ln
	}
	return s, nil
}

// Addr returns the address the server listens on (useful with port 0), or
// "" when disabled.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Handler returns the server's handler.
func (s *Server) Handler() http.Handler { return s.mux }

func (s *Server) check(get func() Check) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if c := get(); c != nil {
			if err := c(); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = fmt.Fprintln(w, err.Error())
				return
			}
		}
		_, _ = fmt.Fprintln(w, "ok")
	}
}

// Run serves until ctx is cancelled, then shuts down within 5 s.
func (s *Server) Run(ctx context.Context) error {
	if s.ln == nil {
		<-ctx.Done()
		return nil
	}
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.ln) }()
	s.log.Info("admin endpoints listening", zap.String("addr", s.Addr()))
	select {
	case err := <-errc:
		return fmt.Errorf("admin server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("admin server shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("admin server: %w", err)
	}
	return nil
}

package admin_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/vigil-stream/vigil/internal/admin"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestEndpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "vigil_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Add(3)
	var ready atomic.Bool
	s, err := admin.New(admin.Config{Addr: "127.0.0.1:0"}, reg, nil, func() error {
		if !ready.Load() {
			return errors.New("restoring state: 1 of 4 partitions restored")
		}
		return nil
	}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	base := "http://" + s.Addr()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name, path string
		setReady   bool
		code       int
		contains   string
	}{
		{"healthz", "/healthz", false, 200, "ok"},
		{"readyz while restoring", "/readyz", false, 503, "1 of 4 partitions"},
		{"readyz when ready", "/readyz", true, 200, "ok"},
		{"metrics", "/metrics", true, 200, "vigil_test_total 3"},
		{"unknown path", "/nope", true, 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ready.Store(tc.setReady)
			code, body := get(tc.path)
			if code != tc.code || !strings.Contains(body, tc.contains) {
				t.Fatalf("GET %s = %d %q, want %d containing %q", tc.path, code, body, tc.code, tc.contains)
			}
		})
	}
}

func TestBadAddr(t *testing.T) {
	if _, err := admin.New(admin.Config{Addr: "nonsense"}, prometheus.NewRegistry(), nil, nil, zap.NewNop()); err == nil {
		t.Fatal("want an error for a bad address")
	}
}

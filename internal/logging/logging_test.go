package logging_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vigil-stream/vigil/internal/logging"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name      string
		cfg       logging.Config
		wantJSON  bool
		wantDebug bool
		wantErr   bool
	}{
		{name: "auto on a buffer is json", cfg: logging.Config{Level: "info", Format: "auto"}, wantJSON: true},
		{name: "console", cfg: logging.Config{Level: "debug", Format: "console"}, wantDebug: true},
		{name: "bad level", cfg: logging.Config{Level: "loud", Format: "json"}, wantErr: true},
		{name: "bad format", cfg: logging.Config{Level: "info", Format: "xml"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			l, err := logging.New(tc.cfg, &buf)
			if tc.wantErr {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			l.Debug("quiet")
			l.Info("hello")
			_ = l.Sync()
			out := buf.String()
			if strings.Contains(out, "quiet") != tc.wantDebug {
				t.Fatalf("debug line present=%v in %q", !tc.wantDebug, out)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			var m map[string]any
			isJSON := json.Unmarshal([]byte(lines[len(lines)-1]), &m) == nil
			if isJSON != tc.wantJSON {
				t.Fatalf("json=%v, want %v: %q", isJSON, tc.wantJSON, out)
			}
			if isJSON && (m["msg"] != "hello" || m["level"] != "info") {
				t.Fatalf("unexpected record %v", m)
			}
		})
	}
}

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-stream/vigil/internal/config/configtest"
)

// TestConfig: -print-config shows the file's values with their sources
// and exits 0 without publishing; an unknown key exits 2.
func TestConfig(t *testing.T) {
	configtest.ClearEnv(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte("replay:\n  topic: sensors.test\n  rate: 250\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("replay:\n  topic: sensors.test\n  speed: 250\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{name: "print", args: []string{"-config=" + good, "-print-config", "-replay.synthetic=3"}, code: 0,
			stdout: []string{"  topic: sensors.test # file " + good + ":2\n", "  rate: 250 # file " + good + ":3\n", "  synthetic: 3 # flag\n"}},
		{name: "unknown key", args: []string{"-config=" + bad}, code: 2,
			stderr: "replay: config file " + bad + ":3: replay.speed: unknown setting (no flag -replay.speed)"},
		{name: "stray argument", args: []string{good}, code: 2, stderr: "unexpected arguments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tc.args, &stdout, &stderr); code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s", code, tc.code, stderr.String())
			}
			for _, w := range tc.stdout {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr.String())
			}
		})
	}
}

// Package configtest holds what the binaries' configuration tests share:
// a clean environment and the check that a generated example file is up to
// date.
package configtest

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/vigil-stream/vigil/internal/config"
)

// ClearEnv unsets every VIGIL_ variable for the rest of the test (t.Setenv
// restores them afterwards).
func ClearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, config.Prefix) {
			t.Setenv(k, "")
			if err := os.Unsetenv(k); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// Example fails the test when the file at path differs from want, the
// example the flags generate; with update it rewrites the file first. how
// says how to regenerate it.
func Example(t *testing.T, path string, want []byte, update bool, how string) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date with the flags: run %s", path, how)
	}
}

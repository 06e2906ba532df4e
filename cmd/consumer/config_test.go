package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-stream/vigil/internal/config"
	"github.com/vigil-stream/vigil/internal/config/configtest"
)

var update = flag.Bool("update", false, "rewrite deploy/config/vigil.example.yaml from the consumer's flags")

const exampleTitle = `Example configuration of the consumer: every setting, with its help and its default.
Use it with -config FILE or VIGIL_CONFIG=FILE. Flags and VIGIL_… variables override
the file; keys are the flag names (docs/configuration.md). Keep only what you change.
Generated from the flags: go test ./cmd/consumer -run TestExampleConfig -update`

const examplePath = "../../deploy/config/vigil.example.yaml"

// TestExampleConfig fails when deploy/config/vigil.example.yaml differs
// from what the consumer's flags generate; -update rewrites it.
func TestExampleConfig(t *testing.T) {
	want := config.Example(flags(&settings{}), exampleTitle)
	configtest.Example(t, examplePath, want, *update, "go test ./cmd/consumer -run TestExampleConfig -update")
	// The example loads, and every value is valid.
	configtest.ClearEnv(t)
	code, stdout, stderr := runConsumer(t, "-config="+examplePath, "-print-config")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if strings.Contains(stdout, "# default") || strings.Contains(stdout, "# env") {
		t.Fatalf("values not from the example file:\n%s", stdout)
	}
}

func runConsumer(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vigil.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPrintConfig runs -print-config with values from each source and a
// secret in each of the file, the environment and a flag; it exits 0
// without connecting to anything (the brokers do not exist).
func TestPrintConfig(t *testing.T) {
	configtest.ClearEnv(t)
	file := writeConfig(t, `
kafka:
  brokers: [nowhere-1:9092, nowhere-2:9092]
stream:
  topics: sensors.a, sensors.b
  group: from-the-file
threshold:
  episode:
    quiet: 50
`)
	t.Setenv("VIGIL_CONFIG", file)
	t.Setenv("VIGIL_STREAM_GROUP", "from-the-env")
	t.Setenv("VIGIL_KAFKA_SASL_PASSWORD", "env-secret")
	t.Setenv("VIGIL_NO_SUCH_SETTING", "x")
	code, stdout, stderr := runConsumer(t, "-print-config", "-threshold.episode.quiet=70",
		"-codec.registry-url=https://user:url-secret@registry:8081")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	for _, want := range []string{
		"# Configuration file: " + file + " (env VIGIL_CONFIG).",
		"# Ignored, no such setting: VIGIL_NO_SUCH_SETTING.",
		"  brokers: # file " + file + ":3\n    - nowhere-1:9092\n    - nowhere-2:9092\n",
		"  group: from-the-env # env VIGIL_STREAM_GROUP\n",
		"  topics: # file " + file + ":5\n    - sensors.a\n    - sensors.b\n",
		"    quiet: 70 # flag\n",
		"  registry-url: https://user:******@registry:8081 # flag\n",
		"  level: info # default\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, secret := range []string{"env-secret", "url-secret", "from-the-file"} {
		if strings.Contains(stdout+stderr, secret) {
			t.Errorf("output shows %q", secret)
		}
	}
	if t.Failed() {
		t.Fatalf("output:\n%s", stdout)
	}
}

// TestConfigErrors: a bad file or a bad value exits 2 with the file, line
// and key; -print-config of an invalid configuration prints it and exits 2.
func TestConfigErrors(t *testing.T) {
	configtest.ClearEnv(t)
	tests := []struct {
		name   string
		file   string
		args   []string
		stdout string // in stdout
		stderr []string
	}{
		{name: "unknown key", file: "stream:\n  topics: [a]\n  topic: b\n",
			stderr: []string{"consumer: config file ", "vigil.yaml:3: stream.topic: unknown setting (no flag -stream.topic)"}},
		{name: "unknown section", file: "streams:\n  topics: [a]\n",
			stderr: []string{"vigil.yaml:1: streams: unknown setting"}},
		{name: "bad value", file: "stream:\n  checkpoint-interval: often\n",
			stderr: []string{`vigil.yaml:2: stream.checkpoint-interval: invalid value "often" (want a duration`}},
		{name: "missing file", args: []string{"-config=/nonexistent/vigil.yaml"},
			stderr: []string{"/nonexistent/vigil.yaml"}},
		{name: "invalid configuration", file: "models:\n  poll: 0s\n", args: []string{"-print-config"},
			stdout: "poll: 0s # file", stderr: []string{"consumer: invalid configuration: models.poll must be positive"}},
		{name: "stray argument", args: []string{"vigil.yaml"}, stderr: []string{`unexpected arguments ["vigil.yaml"]`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.file != "" {
				args = append([]string{"-config", writeConfig(t, tc.file)}, args...)
			}
			code, stdout, stderr := runConsumer(t, args...)
			if code != 2 {
				t.Fatalf("exit %d, want 2:\n%s", code, stderr)
			}
			if !strings.Contains(stdout, tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, stdout)
			}
			for _, w := range tc.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

package config_test

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/vigil-stream/vigil/internal/config"
)

// TestWriteYAML checks the effective configuration: values, sources,
// masked secrets, and that it loads back to the same values.
func TestWriteYAML(t *testing.T) {
	s := newSettings()
	path := writeFile(t, "threshold:\n  episode:\n    quiet: 7\nkafka:\n  sasl:\n    password: from-the-file\n")
	eff, err := env(map[string]string{
		"VIGIL_CONFIG":        path,
		"VIGIL_KAFKA_BROKERS": "e:1,e:2",
	}).Load(s.fs, []string{"-codec.framing=json", "-print-config", "-kafka.client-id=https://u:pw@x"})
	if err != nil {
		t.Fatal(err)
	}
	if !eff.PrintRequested() {
		t.Fatal("-print-config not seen")
	}
	var b bytes.Buffer
	if err := eff.WriteYAML(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"# Effective configuration of test.\n",
		"# Configuration file: " + path + " (env VIGIL_CONFIG).\n",
		"  brokers: # env VIGIL_KAFKA_BROKERS\n    - e:1\n    - e:2\n",
		"  client-id: https://u:******@x # flag\n",
		"    password: '******' # file " + path + ":6\n",
		"  framing: json # flag\n",
		"    quiet: 7 # file " + path + ":3\n",
		"  fetch-max-wait: 250ms # default\n",
		"  inverse: true # default\n",
		"  fixed: 0 # default\n",
		"topics: [] # default\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "from-the-file") || strings.Contains(out, "pw@") || strings.Contains(out, "print-config") {
		t.Errorf("output shows a secret or -print-config")
	}
	if t.Failed() {
		t.Fatalf("output:\n%s", out)
	}

	// The output is a configuration file: loaded again it gives the same
	// values (but for the masked password).
	s2 := newSettings()
	if _, err := env(nil).Load(s2.fs, []string{"-config", writeFile(t, out)}); err != nil {
		t.Fatal(err)
	}
	if s2.brokers.String() != "e:1,e:2" || s2.quiet != 7 || s2.framing != "json" || s2.password != config.Mask || s2.clientID != "https://u:******@x" {
		t.Fatalf("loaded back: %+v", s2)
	}
}

func TestIsSecret(t *testing.T) {
	tests := map[string]bool{
		"kafka.sasl.password":      true,
		"kafka.sasl.password-file": false,
		"kafka.tls.key-file":       false,
		"kafka.tls.passphrase":     true,
		"admin.bearer-token":       true,
		"oauth.client-secret":      true,
		"token":                    true,
		"kafka.sasl.username":      false,
		"tokens.limit":             false,
		"secret-dir":               false,
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			if got := config.IsSecret(&flag.Flag{Name: name}); got != want {
				t.Fatalf("IsSecret = %v, want %v", got, want)
			}
		})
	}
}

func TestMarkSecretMasks(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.String("kafka.sasl.jaas", "", "JAAS config line")
	config.MarkSecret(fs, "kafka.sasl.jaas")
	eff, err := env(nil).Load(fs, []string{"-kafka.sasl.jaas=user=x password=y"})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := eff.WriteYAML(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "password=y") || !strings.Contains(b.String(), "jaas: '******' # flag") {
		t.Fatalf("output:\n%s", b.String())
	}
}

// TestExample checks that an example holds every flag, with its help, and
// that loading it sets every flag to its default from the file.
func TestExample(t *testing.T) {
	ex := config.Example(newSettings().fs, "Example configuration.\nSecond line.")
	if !bytes.HasPrefix(ex, []byte("# Example configuration.\n# Second line.\n\n")) {
		t.Fatalf("example:\n%s", ex)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(ex, &doc); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# unflagged readings that close an episode\n    quiet: 100\n", "# framing of encoded records (default single-object)\n  framing: single-object\n"} {
		if !bytes.Contains(ex, []byte(want)) {
			t.Errorf("example lacks %q:\n%s", want, ex)
		}
	}
	s := newSettings()
	path := filepath.Join(t.TempDir(), "example.yaml")
	if err := os.WriteFile(path, ex, 0o600); err != nil {
		t.Fatal(err)
	}
	eff, err := env(nil).Load(s.fs, []string{"-config", path})
	if err != nil {
		t.Fatal(err)
	}
	def := newSettings()
	def.fs.VisitAll(func(f *flag.Flag) {
		got := s.fs.Lookup(f.Name)
		if src := eff.Source(f.Name); src.Kind != config.FromFile {
			t.Errorf("%s: from %v, want the file", f.Name, src)
		}
		if got.Value.String() != f.Value.String() {
			t.Errorf("%s = %q, want the default %q", f.Name, got.Value.String(), f.Value.String())
		}
	})
	if s.framing != "single-object" {
		t.Errorf("framing %q", s.framing)
	}
}

func TestWriteYAMLError(t *testing.T) {
	s := newSettings()
	eff, err := env(nil).Load(s.fs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := eff.WriteYAML(failWriter{}); err == nil {
		t.Fatal("no error from a failing writer")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestShortDurations(t *testing.T) {
	tests := map[string]string{"720h": "720h", "1h30m": "1h30m", "1m": "1m", "90s": "1m30s", "250ms": "250ms", "0s": "0s", "2h0m5s": "2h0m5s", "10s": "10s"}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.Duration("d", 0, "")
			eff, err := env(nil).Load(fs, []string{"-d=" + in})
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := eff.WriteYAML(&b); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), "\nd: "+want+" # flag\n") {
				t.Fatalf("output:\n%s", b.String())
			}
		})
	}
}

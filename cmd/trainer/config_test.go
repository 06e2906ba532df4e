package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-stream/vigil/internal/avrocodec"
	"github.com/vigil-stream/vigil/internal/config"
	"github.com/vigil-stream/vigil/internal/config/configtest"
	"github.com/vigil-stream/vigil/internal/kafkaconn"
	"github.com/vigil-stream/vigil/internal/logging"
	"github.com/vigil-stream/vigil/internal/trainer"
)

var update = flag.Bool("update", false, "rewrite deploy/config/trainer.example.yaml from the flags of trainer train")

const trainExampleTitle = `Example configuration of trainer train: every setting, with its help and its default.
Use it with -config FILE or VIGIL_CONFIG=FILE. Flags and VIGIL_… variables override
the file; keys are the flag names (docs/configuration.md). Keep only what you change.
Generated from the flags: go test ./cmd/trainer -run TestTrainExampleConfig -update`

const trainExamplePath = "../../deploy/config/trainer.example.yaml"

// TestTrainExampleConfig fails when deploy/config/trainer.example.yaml
// differs from what the flags of trainer train generate; -update rewrites
// it.
func TestTrainExampleConfig(t *testing.T) {
	var (
		logCfg   logging.Config
		kafkaCfg kafkaconn.Config
		codecCfg avrocodec.Config
		cfg      trainer.Config
	)
	want := config.Example(trainFlags(&logCfg, &kafkaCfg, &codecCfg, &cfg), trainExampleTitle)
	configtest.Example(t, trainExamplePath, want, *update, "go test ./cmd/trainer -run TestTrainExampleConfig -update")
	configtest.ClearEnv(t)
	code, stdout, stderr := runCmd("train", "-config="+trainExamplePath, "-print-config")
	if code != exitOK {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if strings.Contains(stdout, "# default") || strings.Contains(stdout, "# env") {
		t.Fatalf("values not from the example file:\n%s", stdout)
	}
}

// TestConfigFile runs each command with a configuration file: -print-config
// shows every source and exits 0 without doing anything, and an unknown key
// exits 2 naming the file, line and key.
func TestConfigFile(t *testing.T) {
	configtest.ClearEnv(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	train := write("train.yaml", "topics: [sensors]\nlast: 24h\nmodel:\n  hidden: 16,16\n  epochs: 3\nmodels:\n  dir: /var/lib/vigil/models\n")
	rollback := write("rollback.yaml", "model: pumps\nmodels.dir: /var/lib/vigil/models\n")
	backtest := write("backtest.yaml", "nab-data: testdata/nab/data\nworkers: 2\n")
	badTrain := write("bad-train.yaml", "topics: [sensors]\nmodel:\n  hiden: 16\n")
	badType := write("bad-type.yaml", "model:\n  epochs: many\n")
	t.Setenv("VIGIL_MODEL_EPOCHS", "5")
	t.Setenv("VIGIL_KAFKA_SASL_PASSWORD", "env-secret")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{name: "train", args: []string{"train", "-config", train, "-print-config", "-model.epochs=7", "-codec.registry-url=http://u:url-secret@r"}, code: exitOK,
			stdout: []string{"# Effective configuration of trainer train.", "topics: # file " + train + ":1\n  - sensors\n",
				"last: 24h # file " + train + ":2\n", "  hidden: 16,16 # file " + train + ":4\n", "  epochs: 7 # flag\n",
				"  dir: /var/lib/vigil/models # file " + train + ":7\n", "  registry-url: http://u:******@r # flag\n", "dry-run: false # default\n"}},
		{name: "train env beats file", args: []string{"train", "-config", train, "-print-config"}, code: exitOK,
			stdout: []string{"  epochs: 5 # env VIGIL_MODEL_EPOCHS\n"}},
		{name: "rollback", args: []string{"rollback", "-config=" + rollback, "-print-config"}, code: exitOK,
			stdout: []string{"model: pumps # file " + rollback + ":1\n", "  dir: /var/lib/vigil/models # file " + rollback + ":2\n", "version: 0 # default\n"}},
		{name: "backtest", args: []string{"backtest", "-config=" + backtest, "-print-config"}, code: exitOK,
			stdout: []string{"nab-data: testdata/nab/data # file " + backtest + ":1\n", "workers: 2 # file " + backtest + ":2\n"}},
		{name: "unknown key", args: []string{"train", "-config", badTrain}, code: exitUsage,
			stderr: "trainer train: config file " + badTrain + ":3: model.hiden: unknown setting (no flag -model.hiden)"},
		{name: "key of another command", args: []string{"rollback", "-config", train}, code: exitUsage,
			stderr: "trainer rollback: config file " + train + ":1: topics: unknown setting"},
		{name: "bad value", args: []string{"backtest", "-config", badType}, code: exitUsage,
			stderr: `trainer backtest: config file ` + badType + `:2: model.epochs: invalid value "many" (want an integer)`},
		{name: "invalid configuration printed", args: []string{"rollback", "-print-config", "-models.keep=-1"}, code: exitUsage,
			stdout: []string{"  keep: -1 # flag\n"}, stderr: "trainer rollback: invalid configuration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s\n%s", code, tc.code, stdout, stderr)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q", w)
				}
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr)
			}
			for _, secret := range []string{"env-secret", "url-secret"} {
				if strings.Contains(stdout+stderr, secret) {
					t.Errorf("output shows %q", secret)
				}
			}
			if t.Failed() {
				t.Logf("stdout:\n%s", stdout)
			}
		})
	}
}

package config_test

import (
	"errors"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/vigil-stream/vigil/internal/config"
)

type sample struct {
	Brokers config.StringList `yaml:"brokers"`
	Wait    time.Duration     `yaml:"wait"`
	Batch   int               `yaml:"batch"`
}

func (s *sample) RegisterFlags(f *flag.FlagSet) {
	s.Brokers = config.StringList{"127.0.0.1:9092"}
	f.Var(&s.Brokers, "kafka.brokers", "Kafka bootstrap brokers, comma-separated.")
	f.DurationVar(&s.Wait, "kafka.max-wait", 100*time.Millisecond, "Longest wait for a fetch.")
	f.IntVar(&s.Batch, "model.batch-size", 64, "Series stepped together.")
}

func (s *sample) Validate() error {
	if s.Batch <= 0 {
		return errors.New("model.batch-size must be positive")
	}
	return nil
}

func TestEnvName(t *testing.T) {
	for in, want := range map[string]string{
		"kafka.brokers":    "VIGIL_KAFKA_BROKERS",
		"model.batch-size": "VIGIL_MODEL_BATCH_SIZE",
		"log.level":        "VIGIL_LOG_LEVEL",
	} {
		if got := config.EnvName(in); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestApplyEnvPrecedence(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		brokers string
		wait    time.Duration
		batch   int
		wantErr string
	}{
		{name: "defaults", brokers: "127.0.0.1:9092", wait: 100 * time.Millisecond, batch: 64},
		{name: "env overrides default", env: map[string]string{"VIGIL_KAFKA_BROKERS": "a:1, b:2", "VIGIL_MODEL_BATCH_SIZE": "8"},
			brokers: "a:1,b:2", wait: 100 * time.Millisecond, batch: 8},
		{name: "flag beats env", args: []string{"-model.batch-size=16"}, env: map[string]string{"VIGIL_MODEL_BATCH_SIZE": "8"},
			brokers: "127.0.0.1:9092", wait: 100 * time.Millisecond, batch: 16},
		{name: "bad env value names the variable", env: map[string]string{"VIGIL_KAFKA_MAX_WAIT": "soon"}, wantErr: "VIGIL_KAFKA_MAX_WAIT"},
		{name: "validation after env", env: map[string]string{"VIGIL_MODEL_BATCH_SIZE": "0"}, wantErr: "must be positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s sample
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			s.RegisterFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			err := config.ApplyEnv(fs, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if err == nil {
				err = config.Validate(&s)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Brokers.String() != tc.brokers || s.Wait != tc.wait || s.Batch != tc.batch {
				t.Fatalf("got brokers=%s wait=%s batch=%d", s.Brokers.String(), s.Wait, s.Batch)
			}
		})
	}
}

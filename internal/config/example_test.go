package config_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigil-stream/vigil/internal/config"
)

// A binary registers its components' flags, loads them from the command
// line, the environment and a file, and prints the result on request.
func ExampleLoader_Load() {
	dir, _ := os.MkdirTemp("", "vigil")
	defer func() { _ = os.RemoveAll(dir) }()
	file := filepath.Join(dir, "vigil.yaml")
	_ = os.WriteFile(file, []byte("kafka:\n  brokers: [kafka-1:9092, kafka-2:9092]\n  client-id: from-the-file\nstream.fetch-max-wait: 1s\n"), 0o600)

	fs := flag.NewFlagSet("consumer", flag.ContinueOnError)
	brokers := config.StringList{"127.0.0.1:9092"}
	fs.Var(&brokers, "kafka.brokers", "Kafka bootstrap brokers, comma-separated host:port.")
	clientID := fs.String("kafka.client-id", "vigil", "Client id sent to the brokers.")
	fs.String("kafka.sasl.password", "", "SASL password.")
	wait := fs.Duration("stream.fetch-max-wait", 250*time.Millisecond, "Longest fetch wait.")
	fs.String("log.level", "info", "Log level.")

	env := map[string]string{"VIGIL_KAFKA_CLIENT_ID": "from-the-env", "VIGIL_KAFKA_SASL_PASSWORD": "hunter2"}
	loader := config.Loader{
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Environ:   func() []string { return nil },
	}
	eff, err := loader.Load(fs, []string{"-config", file, "-print-config", "-stream.fetch-max-wait=2s"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(brokers.String(), *clientID, *wait, eff.Source("kafka.brokers").Kind == config.FromFile)
	if eff.PrintRequested() {
		var b strings.Builder
		_ = eff.WriteYAML(&b)
		fmt.Print(strings.ReplaceAll(b.String(), dir, "/etc/vigil"))
	}
	// Output:
	// kafka-1:9092,kafka-2:9092 from-the-env 2s true
	// # Effective configuration of consumer.
	// # Configuration file: /etc/vigil/vigil.yaml (flag).
	//
	// kafka:
	//   brokers: # file /etc/vigil/vigil.yaml:2
	//     - kafka-1:9092
	//     - kafka-2:9092
	//   client-id: from-the-env # env VIGIL_KAFKA_CLIENT_ID
	//   sasl:
	//     password: '******' # env VIGIL_KAFKA_SASL_PASSWORD
	//
	// log:
	//   level: info # default
	//
	// stream:
	//   fetch-max-wait: 2s # flag
}

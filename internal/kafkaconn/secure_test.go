package kafkaconn_test

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/goleak"

	"github.com/vigil-stream/vigil/internal/config"
	"github.com/vigil-stream/vigil/internal/kafkaconn"
	"github.com/vigil-stream/vigil/internal/kafkatest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, kafkatest.LeakOptions()...)
}

// failBound is how long a misconfigured connection may take to fail: a
// generous bound for a shared machine, far below the hang it guards
// against.
const failBound = 15 * time.Second

// The environment variables naming the test broker's secured listeners;
// scripts/kafka.sh writes the same assignments to listeners.env in the TLS
// directory, which is read for those not set.
const (
	envTLSDir      = "VIGIL_KAFKA_TLS_DIR"
	envTLSBrokers  = "VIGIL_KAFKA_TLS_BROKERS"
	envSASLBrokers = "VIGIL_KAFKA_SASL_BROKERS"
	envMTLSBrokers = "VIGIL_KAFKA_MTLS_BROKERS"
)

// secured describes the test broker's secured listeners (scripts/kafka.sh).
type secured struct {
	dir                string // CA, client certificate, SASL user and password
	plain              string // the plaintext listener
	tls, sasl, mtls    string // SSL, SASL_SSL and mutual-TLS listeners
	username, password string
}

// securedBroker returns the secured listeners of the test broker. Under
// -short it skips the test; otherwise missing listeners fail it.
func securedBroker(t *testing.T) secured {
	t.Helper()
	plain := kafkatest.Brokers(t)[0] // skips under -short
	dir := os.Getenv(envTLSDir)
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, ".cache", "kafka", "tls")
	}
	vars := map[string]string{}
	if f, err := os.Open(filepath.Join(dir, "listeners.env")); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), "="); ok {
				vars[k] = v
			}
		}
		_ = f.Close()
	}
	get := func(name string) string {
		if v := os.Getenv(name); v != "" {
			return v
		}
		if v := vars[name]; v != "" {
			return v
		}
		t.Fatalf("%s is not set and %s has no listeners.env: start the broker with scripts/kafka.sh up (make kafka-up), which serves the TLS and SASL listeners, or run with -short",
			name, dir)
		return ""
	}
	s := secured{dir: dir, plain: plain, tls: get(envTLSBrokers), sasl: get(envSASLBrokers), mtls: get(envMTLSBrokers)}
	s.username = readTrimmed(t, filepath.Join(dir, "sasl-username"))
	s.password = readTrimmed(t, filepath.Join(dir, "sasl-password"))
	return s
}

func (s secured) file(name string) string { return filepath.Join(s.dir, name) }

func readTrimmed(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("test broker TLS material: %v", err)
	}
	return strings.TrimSpace(string(b))
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// conn returns a validated connection config for brokers, set up by args
// as a binary's command line would be.
func conn(t *testing.T, brokers string, args ...string) *kafkaconn.Config {
	t.Helper()
	var c kafkaconn.Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.RegisterFlags(fs, "kafka.")
	if err := config.Parse(fs, append([]string{"-kafka.brokers=" + brokers, "-kafka.client-id=vigil-test"}, args...)); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return &c
}

// TestSecureProduceConsume produces through the Transport (the writers'
// and admin client's path) and consumes through a consumer group on the
// Dialer (the consumer's path), over each secured listener.
func TestSecureProduceConsume(t *testing.T) {
	s := securedBroker(t)
	ca := "-kafka.tls.ca-file=" + s.file("ca.pem")
	pwFile := writeFile(t, t.TempDir(), "password", s.password+"\n")
	cases := []struct {
		name    string
		brokers string
		args    []string
		env     string // VIGIL_KAFKA_SASL_PASSWORD
	}{
		{name: "TLS", brokers: s.tls, args: []string{"-kafka.tls.enabled", ca}},
		{name: "mutual TLS", brokers: s.mtls, args: []string{"-kafka.tls.enabled", ca,
			"-kafka.tls.cert-file=" + s.file("client.pem"), "-kafka.tls.key-file=" + s.file("client-key.pem")}},
		{name: "SASL_SSL SCRAM-SHA-256", brokers: s.sasl, args: []string{"-kafka.tls.enabled", ca,
			"-kafka.sasl.mechanism=SCRAM-SHA-256", "-kafka.sasl.username=" + s.username, "-kafka.sasl.password-file=" + pwFile}},
		{name: "SASL_SSL SCRAM-SHA-512", brokers: s.sasl, args: []string{"-kafka.tls.enabled", ca,
			"-kafka.sasl.mechanism=SCRAM-SHA-512", "-kafka.sasl.username=" + s.username}, env: s.password},
		{name: "SASL_SSL PLAIN", brokers: s.sasl, args: []string{"-kafka.tls.enabled", ca,
			"-kafka.sasl.mechanism=PLAIN", "-kafka.sasl.username=" + s.username, "-kafka.sasl.password-file=" + pwFile}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("VIGIL_KAFKA_SASL_PASSWORD", tc.env)
			c := conn(t, tc.brokers, tc.args...)
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			if err := c.Check(ctx); err != nil {
				t.Fatalf("Check: %v", err)
			}
			topic := kafkatest.Topic(t, "secure", 2)
			const n = 50
			tr := c.Transport()
			defer tr.CloseIdleConnections()
			w := c.Writer(tr, nil, kafkaconn.DefaultLinger)
			msgs := make([]kafka.Message, n)
			for i := range msgs {
				msgs[i] = kafka.Message{Topic: topic, Key: fmt.Appendf(nil, "s%d", i%5), Value: fmt.Appendf(nil, "%d", i)}
			}
			if err := w.WriteMessages(ctx, msgs...); err != nil {
				t.Fatalf("produce over %s: %v", tc.name, err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			md, err := c.Client(tr, 10*time.Second).Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
			if err != nil || len(md.Topics) != 1 || len(md.Topics[0].Partitions) != 2 {
				t.Fatalf("metadata over %s: %v %+v", tc.name, err, md)
			}

			r := kafka.NewReader(kafka.ReaderConfig{
				Brokers: c.Brokers, GroupID: kafkatest.Name(t, "group"), Topic: topic, Dialer: c.Dialer(),
				StartOffset: kafka.FirstOffset, MaxWait: 100 * time.Millisecond, CommitInterval: 0,
			})
			defer r.Close()
			seen := map[string]bool{}
			for len(seen) < n {
				m, err := r.FetchMessage(ctx)
				if err != nil {
					t.Fatalf("consume over %s after %d messages: %v", tc.name, len(seen), err)
				}
				seen[string(m.Value)] = true
				if err := r.CommitMessages(ctx, m); err != nil {
					t.Fatalf("commit over %s: %v", tc.name, err)
				}
			}
		})
	}
}

// TestSecureFailuresAreFastAndClear checks that each misconfiguration
// fails within failBound with an error of the right class, from Check and
// from a data-plane client on the Transport.
func TestSecureFailuresAreFastAndClear(t *testing.T) {
	s := securedBroker(t)
	ca := "-kafka.tls.ca-file=" + s.file("ca.pem")
	otherCA, _ := writeCert(t, t.TempDir(), "other-ca")
	wrongPw := writeFile(t, t.TempDir(), "password", "not-"+s.password)
	goodPw := writeFile(t, t.TempDir(), "password", s.password)
	cases := []struct {
		name    string
		brokers string
		args    []string
		class   error
		// transport: the Transport's error carries the class too (the
		// SASL exchange is kafka-go's, so its failure is kafka-go's error).
		transport error
		mention   string
	}{
		{name: "wrong password SCRAM-SHA-256", brokers: s.sasl, class: kafkaconn.ErrAuth, transport: kafka.SASLAuthenticationFailed, mention: "wrong credentials",
			args: []string{"-kafka.tls.enabled", ca, "-kafka.sasl.mechanism=SCRAM-SHA-256", "-kafka.sasl.username=" + s.username, "-kafka.sasl.password-file=" + wrongPw}},
		{name: "wrong password SCRAM-SHA-512", brokers: s.sasl, class: kafkaconn.ErrAuth, transport: kafka.SASLAuthenticationFailed, mention: "wrong credentials",
			args: []string{"-kafka.tls.enabled", ca, "-kafka.sasl.mechanism=SCRAM-SHA-512", "-kafka.sasl.username=" + s.username, "-kafka.sasl.password-file=" + wrongPw}},
		{name: "wrong password PLAIN", brokers: s.sasl, class: kafkaconn.ErrAuth, transport: kafka.SASLAuthenticationFailed, mention: "wrong credentials",
			args: []string{"-kafka.tls.enabled", ca, "-kafka.sasl.mechanism=PLAIN", "-kafka.sasl.username=" + s.username, "-kafka.sasl.password-file=" + wrongPw}},
		{name: "unknown user", brokers: s.sasl, class: kafkaconn.ErrAuth, transport: kafka.SASLAuthenticationFailed, mention: "wrong credentials",
			args: []string{"-kafka.tls.enabled", ca, "-kafka.sasl.mechanism=SCRAM-SHA-256", "-kafka.sasl.username=nobody", "-kafka.sasl.password-file=" + goodPw}},
		{name: "untrusted CA", brokers: s.tls, class: kafkaconn.ErrTLS, transport: kafkaconn.ErrTLS, mention: "unknown authority",
			args: []string{"-kafka.tls.enabled", "-kafka.tls.ca-file=" + otherCA}},
		{name: "system roots only", brokers: s.tls, class: kafkaconn.ErrTLS, transport: kafkaconn.ErrTLS, mention: "unknown authority",
			args: []string{"-kafka.tls.enabled"}},
		{name: "wrong server name", brokers: s.tls, class: kafkaconn.ErrTLS, transport: kafkaconn.ErrTLS, mention: "not valid for",
			args: []string{"-kafka.tls.enabled", ca, "-kafka.tls.server-name=kafka.example"}},
		{name: "no client certificate for mutual TLS", brokers: s.mtls, class: kafkaconn.ErrTLS, transport: kafkaconn.ErrTLS, mention: "client certificate",
			args: []string{"-kafka.tls.enabled", ca}},
		{name: "plaintext client to TLS listener", brokers: s.tls, class: kafkaconn.ErrProtocolMismatch, transport: kafkaconn.ErrProtocolMismatch,
			mention: "kafka.tls.enabled"},
		{name: "plaintext client to SASL_SSL listener", brokers: s.sasl, class: kafkaconn.ErrProtocolMismatch, transport: kafkaconn.ErrProtocolMismatch,
			mention: "kafka.tls.enabled", args: []string{"-kafka.sasl.mechanism=SCRAM-SHA-256", "-kafka.sasl.username=" + s.username, "-kafka.sasl.password-file=" + goodPw}},
		{name: "TLS client to plaintext listener", brokers: s.plain, class: kafkaconn.ErrProtocolMismatch, transport: kafkaconn.ErrProtocolMismatch,
			mention: "is the listener plaintext", args: []string{"-kafka.tls.enabled", ca}},
		{name: "TLS without SASL to SASL_SSL listener", brokers: s.sasl, class: kafkaconn.ErrProtocolMismatch, mention: "kafka.sasl.mechanism",
			args: []string{"-kafka.tls.enabled", ca}},
		{name: "SASL to TLS listener without SASL", brokers: s.tls, class: kafkaconn.ErrProtocolMismatch, mention: "kafka.sasl.mechanism",
			args: []string{"-kafka.tls.enabled", ca, "-kafka.sasl.mechanism=SCRAM-SHA-256", "-kafka.sasl.username=" + s.username, "-kafka.sasl.password-file=" + goodPw}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("VIGIL_KAFKA_SASL_PASSWORD", "")
			c := conn(t, tc.brokers, tc.args...)
			ctx, cancel := context.WithTimeout(context.Background(), 2*failBound)
			defer cancel()

			start := time.Now()
			err := c.Check(ctx)
			took := time.Since(start)
			t.Logf("Check failed after %v: %v", took.Round(time.Millisecond), err)
			if !errors.Is(err, tc.class) {
				t.Fatalf("Check error %v, want one of class %v", err, tc.class)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("Check error %q does not mention %q", err, tc.mention)
			}
			if took > failBound {
				t.Errorf("Check took %v to fail, want < %v", took, failBound)
			}

			// A data-plane client (the writers' and admin path) fails as
			// fast, instead of hanging.
			tr := c.Transport()
			defer tr.CloseIdleConnections()
			start = time.Now()
			_, err = c.Client(tr, failBound).Metadata(ctx, &kafka.MetadataRequest{})
			took = time.Since(start)
			t.Logf("Transport failed after %v: %v", took.Round(time.Millisecond), err)
			if err == nil {
				t.Fatal("metadata request succeeded")
			}
			if tc.transport != nil && !errors.Is(err, tc.transport) {
				t.Errorf("Transport error %v, want one of class %v", err, tc.transport)
			}
			if took > failBound {
				t.Errorf("Transport took %v to fail, want < %v", took, failBound)
			}
		})
	}
}

// TestCheckPlaintext checks that Check passes on the plaintext listener
// and reports an unreachable broker as such.
func TestCheckPlaintext(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := conn(t, strings.Join(brokers, ",")).Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	// Port 1: nothing listens there.
	err := conn(t, "127.0.0.1:1").Check(ctx)
	if !errors.Is(err, kafkaconn.ErrUnreachable) {
		t.Fatalf("Check error %v, want ErrUnreachable", err)
	}
}

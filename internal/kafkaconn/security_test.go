package kafkaconn_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-stream/vigil/internal/config"
	"github.com/vigil-stream/vigil/internal/kafkaconn"
)

// writeCert writes a self-signed CA certificate and its key as PEM files
// in dir and returns their paths. Used as an untrusted CA by the broker
// tests and as a certificate/key pair by the Validate tests.
func writeCert(t testing.TB, dir, name string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// parse registers the flags, parses args and applies env like a binary.
func parse(t *testing.T, args []string, env map[string]string) (*kafkaconn.Config, error) {
	t.Helper()
	var c kafkaconn.Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.RegisterFlags(fs, "kafka.")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	if err := config.ApplyEnv(fs, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	return &c, c.Validate()
}

func TestValidateSecurity(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir, "client")
	pwFile := writeFile(t, dir, "password", "s3cret\n")
	empty := writeFile(t, dir, "empty", "")
	notPEM := writeFile(t, dir, "not-pem", "hello")
	missing := filepath.Join(dir, "missing")

	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string // "" for valid
	}{
		{name: "defaults: plaintext, no SASL"},
		{name: "TLS with system roots", args: []string{"-kafka.tls.enabled"}},
		{name: "TLS with CA, client cert, server name", args: []string{"-kafka.tls.enabled", "-kafka.tls.ca-file=" + cert,
			"-kafka.tls.cert-file=" + cert, "-kafka.tls.key-file=" + key, "-kafka.tls.server-name=kafka.example"}},
		{name: "TLS settings from env", env: map[string]string{"VIGIL_KAFKA_TLS_ENABLED": "true", "VIGIL_KAFKA_TLS_CA_FILE": cert}},
		{name: "CA file missing", args: []string{"-kafka.tls.enabled", "-kafka.tls.ca-file=" + missing}, wantErr: "kafka.tls.ca-file"},
		{name: "CA file not PEM", args: []string{"-kafka.tls.enabled", "-kafka.tls.ca-file=" + notPEM}, wantErr: "holds no PEM certificate"},
		{name: "cert without key", args: []string{"-kafka.tls.enabled", "-kafka.tls.cert-file=" + cert}, wantErr: "go together"},
		{name: "key does not match", args: []string{"-kafka.tls.enabled", "-kafka.tls.cert-file=" + cert, "-kafka.tls.key-file=" + notPEM}, wantErr: "kafka.tls.key-file"},
		{name: "TLS file without TLS", args: []string{"-kafka.tls.ca-file=" + cert}, wantErr: "kafka.tls.enabled is false"},
		{name: "SCRAM with password file", args: []string{"-kafka.sasl.mechanism=SCRAM-SHA-512", "-kafka.sasl.username=vigil", "-kafka.sasl.password-file=" + pwFile}},
		{name: "mechanism case-insensitive, password from env", args: []string{"-kafka.sasl.mechanism=scram-sha-256", "-kafka.sasl.username=vigil"},
			env: map[string]string{"VIGIL_KAFKA_SASL_PASSWORD": "s3cret"}},
		{name: "PLAIN, everything from env", env: map[string]string{"VIGIL_KAFKA_SASL_MECHANISM": "PLAIN", "VIGIL_KAFKA_SASL_USERNAME": "vigil",
			"VIGIL_KAFKA_SASL_PASSWORD_FILE": pwFile}},
		{name: "unknown mechanism", args: []string{"-kafka.sasl.mechanism=GSSAPI", "-kafka.sasl.username=vigil", "-kafka.sasl.password-file=" + pwFile},
			wantErr: "unknown mechanism"},
		{name: "no user", args: []string{"-kafka.sasl.mechanism=PLAIN", "-kafka.sasl.password-file=" + pwFile}, wantErr: "kafka.sasl.username is required"},
		{name: "no password", args: []string{"-kafka.sasl.mechanism=PLAIN", "-kafka.sasl.username=vigil"}, wantErr: "VIGIL_KAFKA_SASL_PASSWORD"},
		{name: "password file missing", args: []string{"-kafka.sasl.mechanism=PLAIN", "-kafka.sasl.username=vigil", "-kafka.sasl.password-file=" + missing},
			wantErr: "kafka.sasl.password-file"},
		{name: "password file empty", args: []string{"-kafka.sasl.mechanism=PLAIN", "-kafka.sasl.username=vigil", "-kafka.sasl.password-file=" + empty},
			wantErr: "is empty"},
		{name: "user without mechanism", args: []string{"-kafka.sasl.username=vigil"}, wantErr: "kafka.sasl.mechanism is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The password variable is read from the process environment.
			if pw, ok := tc.env["VIGIL_KAFKA_SASL_PASSWORD"]; ok {
				t.Setenv("VIGIL_KAFKA_SASL_PASSWORD", pw)
			} else {
				t.Setenv("VIGIL_KAFKA_SASL_PASSWORD", "")
			}
			_, err := parse(t, tc.args, tc.env)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate error %v, want one mentioning %q", err, tc.wantErr)
			}
		})
	}
}

func TestPasswordFileAndPasswordConflict(t *testing.T) {
	c := kafkaconn.Config{Brokers: config.StringList{"127.0.0.1:9092"}, DialTimeout: time.Second}
	c.SASL = kafkaconn.SASLConfig{Mechanism: "PLAIN", Username: "u", Password: "p", PasswordFile: writeFile(t, t.TempDir(), "pw", "q")}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "use one") {
		t.Fatalf("Validate error %v, want a conflict", err)
	}
}

func TestRedactedMasksPassword(t *testing.T) {
	const pw = "hunter2-very-secret"
	c := kafkaconn.Config{Brokers: config.StringList{"127.0.0.1:9092"}, DialTimeout: time.Second}
	c.SASL = kafkaconn.SASLConfig{Mechanism: "SCRAM-SHA-256", Username: "vigil", Password: pw}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	r := c.Redacted()
	if string(r.SASL.Password) == pw || r.SASL.Password == "" {
		t.Fatalf("Redacted password = %q", string(r.SASL.Password))
	}
	if r.SASL.Username != "vigil" || r.SASL.Mechanism != "SCRAM-SHA-256" {
		t.Fatalf("Redacted changed other fields: %+v", r.SASL)
	}
	if string(c.SASL.Password) != pw {
		t.Fatal("Redacted modified the original")
	}
	// The Secret type masks itself wherever it is printed or encoded.
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c.SASL), fmt.Sprint(c.SASL.Password), string(js)} {
		if strings.Contains(s, pw) {
			t.Fatalf("password leaked: %s", s)
		}
	}
	if kafkaconn.Secret("").String() != "" {
		t.Fatal("an empty secret should print as empty")
	}
}

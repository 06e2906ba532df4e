package kafkaconn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/vigil-stream/vigil/internal/config"
)

// TLSConfig is how connections to the brokers are encrypted and how the
// brokers (and, with a client certificate, this client) are authenticated.
type TLSConfig struct {
	// Enabled turns TLS on for every connection. Default false
	// (plaintext). The other fields require it.
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM file of the CA certificates that may sign the
	// brokers' certificates. Default "": the system's roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are this client's PEM certificate (chain) and
	// its unencrypted private key, for listeners that require client
	// certificates (ssl.client.auth=required). Both or neither. Default "".
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName is the name the brokers' certificates must be valid for.
	// Default "": the host of each broker address as dialled.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify accepts any broker certificate. For tests only: it
	// makes TLS useless against an active attacker. Default false.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// SASLConfig is how this client authenticates to the brokers with SASL.
type SASLConfig struct {
	// Mechanism is "" (no SASL, the default), PLAIN, SCRAM-SHA-256 or
	// SCRAM-SHA-512 (case-insensitive). PLAIN sends the password as is:
	// use it only with TLS.
	Mechanism string `yaml:"mechanism"`
	// Username is the SASL user. Default "".
	Username string `yaml:"username"`
	// PasswordFile is a file holding the password (one trailing newline
	// is ignored), e.g. a mounted Kubernetes Secret. Default "".
	PasswordFile string `yaml:"password_file"`
	// Password is the password itself, for programs that build a Config
	// in code. It has no flag, so that it never appears on a command line:
	// the binaries take it from PasswordFile or, when neither is set, from
	// the environment variable VIGIL_KAFKA_SASL_PASSWORD (the flag prefix
	// in upper case, then SASL_PASSWORD). Secret: masked by Redacted.
	Password Secret `yaml:"password"`
}

// Secret is a string that must not be printed or logged. Its String,
// GoString and MarshalText methods return a mask, so fmt's %v and %#v,
// zap and encoding/json or YAML output do not reveal it; convert it to
// string where the value itself is needed.
type Secret string

const redactedMask = "[redacted]"

// String returns a mask, or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redactedMask
}

// GoString returns the mask as a quoted string.
func (s Secret) GoString() string { return fmt.Sprintf("%q", s.String()) }

// MarshalText returns the mask.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Mechanism names accepted by SASLConfig.Mechanism.
const (
	MechanismPlain       = "PLAIN"
	MechanismScramSHA256 = "SCRAM-SHA-256"
	MechanismScramSHA512 = "SCRAM-SHA-512"
)

// registerSecurityFlags registers the TLS and SASL flags under prefix.
func (c *Config) registerSecurityFlags(f *flag.FlagSet, prefix string) {
	f.BoolVar(&c.TLS.Enabled, prefix+"tls.enabled", false, "Connect to the brokers with TLS.")
	f.StringVar(&c.TLS.CAFile, prefix+"tls.ca-file", "", "PEM file of the CA certificates that sign the brokers' certificates (default: the system's roots).")
	f.StringVar(&c.TLS.CertFile, prefix+"tls.cert-file", "", "PEM client certificate, for listeners that require one (with "+prefix+"tls.key-file).")
	f.StringVar(&c.TLS.KeyFile, prefix+"tls.key-file", "", "PEM private key of "+prefix+"tls.cert-file (unencrypted).")
	f.StringVar(&c.TLS.ServerName, prefix+"tls.server-name", "", "Name the brokers' certificates must be valid for (default: each broker's host).")
	f.BoolVar(&c.TLS.InsecureSkipVerify, prefix+"tls.insecure-skip-verify", false, "Accept any broker certificate (tests only: defeats TLS).")
	f.StringVar(&c.SASL.Mechanism, prefix+"sasl.mechanism", "", "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (default: no SASL).")
	f.StringVar(&c.SASL.Username, prefix+"sasl.username", "", "SASL user name.")
	f.StringVar(&c.SASL.PasswordFile, prefix+"sasl.password-file", "",
		"File holding the SASL password (default: the environment variable "+config.EnvName(prefix+"sasl.password")+").")
}

// passwordEnv is the environment variable read for the SASL password.
func (c *Config) passwordEnv() string {
	p := c.prefix
	if p == "" {
		p = "kafka."
	}
	return config.EnvName(p + "sasl.password")
}

// flagName returns the flag name of a setting, for error messages.
func (c *Config) flagName(name string) string {
	p := c.prefix
	if p == "" {
		p = "kafka."
	}
	return p + name
}

// buildSecurity checks the TLS and SASL settings, reads the files they
// name and builds the TLS configuration and SASL mechanism.
func (c *Config) buildSecurity() (*tls.Config, sasl.Mechanism, error) {
	var errs []error
	tc, err := c.buildTLS()
	if err != nil {
		errs = append(errs, err)
	}
	mech, err := c.buildSASL()
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return tc, mech, nil
}

func (c *Config) buildTLS() (*tls.Config, error) {
	t := c.TLS
	if !t.Enabled {
		var set []string
		for name, v := range map[string]bool{
			"tls.ca-file": t.CAFile != "", "tls.cert-file": t.CertFile != "", "tls.key-file": t.KeyFile != "",
			"tls.server-name": t.ServerName != "", "tls.insecure-skip-verify": t.InsecureSkipVerify,
		} {
			if v {
				set = append(set, c.flagName(name))
			}
		}
		if len(set) > 0 {
			return nil, fmt.Errorf("%s set but %s is false: set %s=true to use TLS",
				strings.Join(slices.Sorted(slices.Values(set)), ", "), c.flagName("tls.enabled"), c.flagName("tls.enabled"))
		}
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // opt-in, documented as tests only
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.flagName("tls.ca-file"), err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: %s holds no PEM certificate", c.flagName("tls.ca-file"), t.CAFile)
		}
		tc.RootCAs = pool
	}
	switch {
	case t.CertFile != "" && t.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%s, %s: %w", c.flagName("tls.cert-file"), c.flagName("tls.key-file"), err)
		}
		tc.Certificates = []tls.Certificate{cert}
	case t.CertFile != "" || t.KeyFile != "":
		return nil, fmt.Errorf("%s and %s go together: set both or neither", c.flagName("tls.cert-file"), c.flagName("tls.key-file"))
	}
	return tc, nil
}

func (c *Config) buildSASL() (sasl.Mechanism, error) {
	s := c.SASL
	mech := strings.ToUpper(strings.TrimSpace(s.Mechanism))
	if mech == "" || mech == "NONE" {
		if s.Username != "" || s.PasswordFile != "" || s.Password != "" {
			return nil, fmt.Errorf("SASL user or password set but %s is empty: set it to PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", c.flagName("sasl.mechanism"))
		}
		return nil, nil
	}
	switch mech {
	case MechanismPlain, MechanismScramSHA256, MechanismScramSHA512:
	default:
		return nil, fmt.Errorf("%s: unknown mechanism %q (want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", c.flagName("sasl.mechanism"), s.Mechanism)
	}
	if s.Username == "" {
		return nil, fmt.Errorf("%s is required with %s=%s", c.flagName("sasl.username"), c.flagName("sasl.mechanism"), mech)
	}
	pw, err := c.password()
	if err != nil {
		return nil, err
	}
	switch mech {
	case MechanismPlain:
		return plain.Mechanism{Username: s.Username, Password: pw}, nil
	case MechanismScramSHA256:
		return scram.Mechanism(scram.SHA256, s.Username, pw)
	default:
		return scram.Mechanism(scram.SHA512, s.Username, pw)
	}
}

// password returns the SASL password from PasswordFile, Password or the
// environment, in that order; exactly one of the first two may be set.
func (c *Config) password() (string, error) {
	s := c.SASL
	switch {
	case s.PasswordFile != "" && s.Password != "":
		return "", fmt.Errorf("both %s and a password are set: use one", c.flagName("sasl.password-file"))
	case s.PasswordFile != "":
		b, err := os.ReadFile(s.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("%s: %w", c.flagName("sasl.password-file"), err)
		}
		pw := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if pw == "" {
			return "", fmt.Errorf("%s: %s is empty", c.flagName("sasl.password-file"), s.PasswordFile)
		}
		return pw, nil
	case s.Password != "":
		return string(s.Password), nil
	}
	if pw, ok := os.LookupEnv(c.passwordEnv()); ok && pw != "" {
		return pw, nil
	}
	return "", fmt.Errorf("SASL password missing: set %s (a file) or the environment variable %s",
		c.flagName("sasl.password-file"), c.passwordEnv())
}

// Redacted returns a copy of c with every secret masked, for printing the
// configuration. The copy cannot authenticate.
func (c Config) Redacted() Config {
	c.SASL.Password = Secret(c.SASL.Password.String())
	c.built = nil
	return c
}

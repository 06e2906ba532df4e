package kafkaconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"
)

// The classes of connection failure. Errors from Check, and from every
// connection made through Dialer or Transport, wrap one of them (test with
// errors.Is) together with the underlying error, and say in words what is
// probably wrong and which setting to change.
var (
	// ErrUnreachable: no TCP connection (DNS, refused, no route).
	ErrUnreachable = errors.New("broker unreachable")
	// ErrTLS: the TLS handshake failed: the broker's certificate is not
	// trusted or not valid for its name, or the broker rejected ours.
	ErrTLS = errors.New("TLS handshake failed")
	// ErrAuth: SASL authentication failed: wrong user or password, or a
	// mechanism the listener does not enable.
	ErrAuth = errors.New("SASL authentication failed")
	// ErrProtocolMismatch: the client and the listener disagree on the
	// security protocol: plaintext client to a TLS listener, TLS client to
	// a plaintext one, SASL to a listener without it or the reverse.
	ErrProtocolMismatch = errors.New("security protocol mismatch")
	// ErrTimeout: the broker did not answer in time.
	ErrTimeout = errors.New("broker did not answer in time")
)

// Check connects to the bootstrap brokers with the configured TLS and SASL
// settings and asks the first that answers for the cluster's brokers; it
// then connects to each broker so named (the addresses the data-plane
// connections use). It returns nil when a bootstrap broker answered and no
// named broker failed for a reason of configuration; a named broker that is
// merely unreachable or slow is tolerated (it may be restarting).
// Otherwise the error wraps ErrUnreachable, ErrTLS, ErrAuth,
// ErrProtocolMismatch or ErrTimeout and names the broker.
//
// Each connection attempt and request is bounded by DialTimeout; ctx bounds
// the whole. Binaries call it once at start-up, after Validate, and exit
// with the error when it fails, instead of retrying a misconfiguration
// forever.
func (c *Config) Check(ctx context.Context) error {
	d := c.Dialer()
	var (
		errs    []error
		brokers []kafka.Broker
		ok      bool
	)
	for _, b := range c.Brokers {
		bs, err := c.checkBroker(ctx, d, b, true)
		if err == nil {
			brokers, ok = bs, true
			break
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	if !ok {
		return errors.Join(errs...)
	}
	for _, br := range brokers {
		addr := net.JoinHostPort(br.Host, strconv.Itoa(br.Port))
		_, err := c.checkBroker(ctx, d, addr, false)
		if err != nil && !errors.Is(err, ErrUnreachable) && !errors.Is(err, ErrTimeout) {
			return fmt.Errorf("broker %d, as the cluster advertises it: %w", br.ID, err)
		}
	}
	return nil
}

// checkBroker connects to addr and asks for the cluster's brokers
// (metadata) or only for the API versions.
func (c *Config) checkBroker(ctx context.Context, d *kafka.Dialer, addr string, metadata bool) ([]kafka.Broker, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, c.classify(addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if metadata {
		bs, err := conn.Brokers()
		if err != nil {
			return nil, c.classify(addr, err)
		}
		return bs, nil
	}
	if _, err := conn.ApiVersions(); err != nil {
		return nil, c.classify(addr, err)
	}
	return nil, nil
}

func (c *Config) timeout() time.Duration {
	if c.DialTimeout > 0 {
		return c.DialTimeout
	}
	return 10 * time.Second
}

// classify wraps err, from a connection to addr, in its failure class with
// a hint, unless it already carries one.
func (c *Config) classify(addr string, err error) error {
	var ce *connError
	if errors.As(err, &ce) {
		return ce // without kafka-go's "failed to dial: …" around it
	}
	mech := c.SASL.Mechanism
	switch {
	case errors.Is(err, kafka.SASLAuthenticationFailed):
		return classed(ErrAuth, err, "broker %s: wrong credentials for user %q (%s): check %s and the password (%s or %s)",
			addr, c.SASL.Username, mech, c.flagName("sasl.username"), c.flagName("sasl.password-file"), c.passwordEnv())
	case errors.Is(err, kafka.UnsupportedSASLMechanism):
		return classed(ErrAuth, err, "broker %s: the listener does not enable SASL mechanism %s: check %s",
			addr, mech, c.flagName("sasl.mechanism"))
	case errors.Is(err, kafka.IllegalSASLState):
		return classed(ErrProtocolMismatch, err, "broker %s: the listener does not use SASL: unset %s or use the SASL listener's port",
			addr, c.flagName("sasl.mechanism"))
	case isTimeout(err):
		return classed(ErrTimeout, err, "broker %s: no answer within %s", addr, c.timeout())
	}
	return fmt.Errorf("broker %s: %w", addr, err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout())
}

// isClosed reports whether err means the peer closed or reset the
// connection.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// dialFunc returns the function Dialer and Transport open connections with:
// TCP, then the TLS handshake when TLS is on, each failure classified. The
// connection is wrapped to classify how the broker answers the first
// request, so that a plaintext client to a TLS listener fails at once and
// says so (when the listener, or a TLS proxy in front of it, keeps the
// connection open after its alert, kafka-go alone takes the alert for the
// size of a response and waits for the rest until a timeout), and a TLS
// client rejected after the handshake says why.
func (c *Config) dialFunc(s *security) func(context.Context, string, string) (net.Conn, error) {
	timeout := c.timeout()
	tlsFlag, saslFlag := c.flagName("tls.enabled"), c.flagName("sasl.mechanism")
	certFlags := c.flagName("tls.cert-file") + " and " + c.flagName("tls.key-file")
	caFlag, nameFlag := c.flagName("tls.ca-file"), c.flagName("tls.server-name")
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		if s.err != nil {
			return nil, fmt.Errorf("kafka connection settings: %w", s.err)
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		var d net.Dialer
		raw, err := d.DialContext(ctx, network, address)
		if err != nil {
			if isTimeout(err) {
				return nil, classed(ErrTimeout, err, "broker %s: no TCP connection within %s", address, timeout)
			}
			return nil, classed(ErrUnreachable, err, "broker %s", address)
		}
		if s.tls == nil {
			return &sniffConn{Conn: raw, onFirst: func(b []byte, err error) error {
				switch {
				case len(b) >= 2 && (b[0] == 0x15 || b[0] == 0x16) && b[1] == 0x03:
					return classed(ErrProtocolMismatch, nil, "broker %s answered with TLS: the listener is TLS: set %s=true", address, tlsFlag)
				case err != nil && isClosed(err):
					return classed(ErrProtocolMismatch, err, "broker %s closed the connection before answering: is the listener TLS (set %s=true) or SASL (set %s)?",
						address, tlsFlag, saslFlag)
				}
				return nil
			}}, nil
		}
		tc := s.tls
		if tc.ServerName == "" {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				host = address
			}
			tc = tc.Clone()
			tc.ServerName = host
		}
		conn := tls.Client(raw, tc)
		if err := conn.HandshakeContext(ctx); err != nil {
			_ = raw.Close()
			return nil, classifyHandshake(address, err, tlsFlag, caFlag, nameFlag, certFlags, timeout)
		}
		return &sniffConn{Conn: conn, onFirst: func(_ []byte, err error) error {
			if err == nil {
				return nil
			}
			var op *net.OpError
			if errors.As(err, &op) && op.Op == "remote error" {
				return classed(ErrTLS, err, "broker %s rejected this client after the TLS handshake (%s): the listener requires a client certificate its truststore accepts: set %s",
					address, op.Err.Error(), certFlags)
			}
			if isClosed(err) {
				return classed(ErrProtocolMismatch, err, "broker %s closed the TLS connection before answering: does the listener require SASL (set %s) or a client certificate (set %s)?",
					address, saslFlag, certFlags)
			}
			return nil
		}}, nil
	}
}

func classifyHandshake(address string, err error, tlsFlag, caFlag, nameFlag, certFlags string, timeout time.Duration) error {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		record   tls.RecordHeaderError
		op       *net.OpError
	)
	switch {
	case errors.As(err, &unknown):
		return classed(ErrTLS, err, "broker %s: certificate signed by unknown authority: set %s to the CA that signed the broker's certificate",
			address, caFlag)
	case errors.As(err, &hostname):
		return classed(ErrTLS, err, "broker %s: the certificate is not valid for %q: set %s to a name it is valid for",
			address, hostname.Host, nameFlag)
	case errors.As(err, &invalid):
		return classed(ErrTLS, err, "broker %s: invalid certificate", address)
	case errors.As(err, &op) && op.Op == "remote error":
		return classed(ErrTLS, err, "broker %s rejected the handshake (%s): does the listener require a client certificate (set %s)?",
			address, op.Err.Error(), certFlags)
	case errors.As(err, &record) || isClosed(err):
		return classed(ErrProtocolMismatch, err, "broker %s closed the connection during the TLS handshake: is the listener plaintext? use its TLS port or unset %s",
			address, tlsFlag)
	case isTimeout(err):
		return classed(ErrTimeout, err, "broker %s: no TLS handshake within %s: is the listener TLS?", address, timeout)
	}
	return classed(ErrTLS, err, "broker %s", address)
}

// connError is a classified connection failure: its class, what is
// probably wrong and what to change, and the underlying error.
type connError struct {
	class error
	msg   string
	err   error
}

func classed(class, err error, format string, args ...any) *connError {
	return &connError{class: class, msg: fmt.Sprintf(format, args...), err: err}
}

func (e *connError) Error() string {
	s := e.class.Error() + ": " + e.msg
	switch {
	case e.err == nil:
		return s
	case strings.HasSuffix(e.msg, "?"):
		return s + " (" + e.err.Error() + ")"
	}
	return s + ": " + e.err.Error()
}

func (e *connError) Unwrap() []error {
	if e.err == nil {
		return []error{e.class}
	}
	return []error{e.class, e.err}
}

// sniffConn passes the first bytes the broker sends, or the error in their
// place, to onFirst, which may turn them into an error.
type sniffConn struct {
	net.Conn
	seen    atomic.Bool
	onFirst func(b []byte, err error) error
}

func (c *sniffConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if c.seen.Load() || (n == 0 && err == nil) {
		return n, err
	}
	c.seen.Store(true)
	if cerr := c.onFirst(b[:n], err); cerr != nil {
		_ = c.Close()
		return 0, cerr
	}
	return n, err
}

// ExitCode maps a Check error to a binary's exit code: 1 when the cluster
// is unreachable or slow (a runtime failure: retrying later may help), 2
// when the settings are wrong (TLS, SASL, protocol: a configuration
// error that retrying cannot fix).
func ExitCode(err error) int {
	if errors.Is(err, ErrUnreachable) || errors.Is(err, ErrTimeout) {
		return 1
	}
	return 2
}

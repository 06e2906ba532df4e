package kafkaconn_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/vigil-stream/vigil/internal/config"
	"github.com/vigil-stream/vigil/internal/kafkaconn"
)

// fakeListener accepts connections on 127.0.0.1 and hands each to serve.
func fakeListener(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); <-done })
	return ln.Addr().String()
}

// tlsAlert answers a plaintext Kafka request as a TLS endpoint that keeps
// the connection open after its alert (some proxies do; Kafka closes it):
// a fatal alert, then nothing. kafka-go alone reads the alert as the start
// of a 352 MB response and waits for the rest until its deadline.
func tlsAlert(c net.Conn) {
	buf := make([]byte, 512)
	_, _ = c.Read(buf)
	_, _ = c.Write([]byte{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x0a})
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, _ = c.Read(buf)
}

// closer reads the first bytes and closes, as a plaintext Kafka listener
// does with a TLS ClientHello (its first bytes are an absurd request size).
func closer(c net.Conn) {
	buf := make([]byte, 512)
	_, _ = c.Read(buf)
}

func TestPlaintextClientToTLSFailsFast(t *testing.T) {
	addr := fakeListener(t, tlsAlert)
	c := kafkaconn.Config{Brokers: config.StringList{addr}, ClientID: "vigil-test", DialTimeout: 10 * time.Second}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	start := time.Now()
	err := c.Check(ctx)
	if !errors.Is(err, kafkaconn.ErrProtocolMismatch) || time.Since(start) > 5*time.Second {
		t.Fatalf("Check after %v: %v, want ErrProtocolMismatch at once", time.Since(start), err)
	}
	tr := c.Transport()
	defer tr.CloseIdleConnections()
	start = time.Now()
	_, err = c.Client(tr, 10*time.Second).Metadata(ctx, &kafka.MetadataRequest{})
	if !errors.Is(err, kafkaconn.ErrProtocolMismatch) || time.Since(start) > 5*time.Second {
		t.Fatalf("Transport after %v: %v, want ErrProtocolMismatch at once", time.Since(start), err)
	}
}

func TestTLSClientToPlaintextFailsFast(t *testing.T) {
	addr := fakeListener(t, closer)
	c := kafkaconn.Config{Brokers: config.StringList{addr}, ClientID: "vigil-test", DialTimeout: 10 * time.Second}
	c.TLS.Enabled = true
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	err := c.Check(ctx)
	if !errors.Is(err, kafkaconn.ErrProtocolMismatch) || time.Since(start) > 5*time.Second {
		t.Fatalf("Check after %v: %v, want ErrProtocolMismatch at once", time.Since(start), err)
	}
}

func TestUnvalidatedConfigFailsConnections(t *testing.T) {
	c := kafkaconn.Config{Brokers: config.StringList{"127.0.0.1:1"}, DialTimeout: time.Second}
	c.SASL.Mechanism = "bogus"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Dialer().DialContext(ctx, "tcp", "127.0.0.1:1"); err == nil {
		t.Fatal("dial with an invalid SASL mechanism succeeded")
	}
}

package dynthreshold

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"
	"time"
)

// fuzzConfig is a small geometry (h = 4 batches of 5) so that encodings are
// short and mutations reach every field.
func fuzzConfig() Config {
	c := DefaultConfig()
	c.Batch, c.Windows, c.WarmUp, c.ErrorBuffer = 5, 4, 10, 3
	return c
}

// fuzzStates returns encodings of a small detector after n readings.
func fuzzState(t testing.TB, n int) []byte {
	d := mustNew(t, fuzzConfig(), testPrior())
	for _, r := range synthetic(11, n) {
		d.Observe(r)
	}
	b, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzUnmarshalState: the decoder never panics on garbage; a state it
// accepts re-encodes to the same bytes and can be run.
func FuzzUnmarshalState(f *testing.F) {
	for _, n := range []int{0, 3, 5, 12, 20, 23, 47} {
		f.Add(fuzzState(f, n))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		try := func(b []byte) {
			d := mustNew(t, fuzzConfig(), testPrior())
			if err := d.UnmarshalBinary(b); err != nil {
				if d.Seen() != 0 {
					t.Fatal("failed decode changed the detector")
				}
				return
			}
			again, err := d.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, b) {
				t.Fatalf("accepted state re-encodes differently:\n%x\n%x", b, again)
			}
			for i := 0; i < 12; i++ {
				if _, err := d.Observe(Reading{Time: t0.Add(time.Duration(i) * time.Second), Value: float64(i % 3), Error: float64(i % 5)}); err != nil {
					t.Fatal(err)
				}
			}
		}
		try(data)
		// The same bytes with a valid checksum, to reach the fields.
		if len(data) >= 4 {
			body := bytes.Clone(data[:len(data)-4])
			try(binary.LittleEndian.AppendUint32(body, crc32.ChecksumIEEE(body)))
		}
	})
}

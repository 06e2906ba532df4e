package report

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var exampleOut = flag.String("out", "", "TestWriteExample writes an example report (and its first figures as PNG) to this path")

// TestWriteExample writes a report of realistic synthetic data for people
// to look at:
//
//	go test ./internal/report -run TestWriteExample -args -out=/tmp/vigil-report.html
//
// Without -out it renders to a temporary directory and only checks that
// the file is there.
func TestWriteExample(t *testing.T) {
	path := *exampleOut
	if path == "" {
		path = filepath.Join(t.TempDir(), "example.html")
	}
	r := synthRun(3, 4, 2016)
	if *exampleOut == "" {
		r = synthRun(1, 2, 2016) // keep the plain test run quick
	}
	if err := WriteFile(path, r); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", path, fi.Size())
	if *exampleOut == "" {
		return
	}
	// The figures on their own too, for a quick look.
	d := prepare(&r.Models[0].Series[1])
	b, err := seriesFigure(&d)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".series.png", b, 0o644); err != nil {
		t.Fatal(err)
	}
	b, _, err = lossFigure(&r.Models[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".loss.png", b, 0o644); err != nil {
		t.Fatal(err)
	}
}

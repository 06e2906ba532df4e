package nab

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-stream/vigil/internal/dataset"
)

func TestReadWindows(t *testing.T) {
	in := `{
 "a/one.csv": [["2014-02-19 10:50:00.000000", "2014-02-20 03:30:00.000000"],
               ["2014-02-23 11:45:00", "2014-02-24 04:25:00.500000"]],
 "b/none.csv": []
}`
	got, err := ReadWindows(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	d := func(s string) time.Time {
		tm, err := time.Parse("2006-01-02 15:04:05.999999", s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	want := []Window{
		{d("2014-02-19 10:50:00"), d("2014-02-20 03:30:00")},
		{d("2014-02-23 11:45:00"), d("2014-02-24 04:25:00.5")},
	}
	if len(got) != 2 || !slices.Equal(got["a/one.csv"], want) || got["b/none.csv"] == nil || len(got["b/none.csv"]) != 0 {
		t.Errorf("got %v", got)
	}
}

func TestReadWindowsErrors(t *testing.T) {
	for _, c := range []struct{ name, in string }{
		{"not JSON", `[`},
		{"array", `[]`},
		{"null", `null`},
		{"trailing data", `{} {}`},
		{"empty key", `{"": []}`},
		{"one timestamp", `{"a.csv": [["2014-02-19 10:50:00.000000"]]}`},
		{"three timestamps", `{"a.csv": [["2014-02-19 10:50:00", "2014-02-19 10:55:00", "2014-02-19 11:00:00"]]}`},
		{"bad timestamp", `{"a.csv": [["yesterday", "2014-02-19 10:55:00"]]}`},
		{"not strings", `{"a.csv": [[1, 2]]}`},
		{"end before start", `{"a.csv": [["2014-02-19 10:55:00", "2014-02-19 10:50:00"]]}`},
		{"overlap", `{"a.csv": [["2014-02-19 10:00:00", "2014-02-19 11:00:00"], ["2014-02-19 10:30:00", "2014-02-19 12:00:00"]]}`},
		{"touching", `{"a.csv": [["2014-02-19 10:00:00", "2014-02-19 11:00:00"], ["2014-02-19 11:00:00", "2014-02-19 12:00:00"]]}`},
		{"out of order", `{"a.csv": [["2014-02-20 10:00:00", "2014-02-20 11:00:00"], ["2014-02-19 10:00:00", "2014-02-19 12:00:00"]]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadWindows(strings.NewReader(c.in))
			if !errors.Is(err, ErrWindows) {
				t.Fatalf("error %v, want ErrWindows", err)
			}
			t.Log(err)
		})
	}
	if _, err := LoadWindows(filepath.Join(t.TempDir(), "missing.json")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: error %v", err)
	}
}

func TestLabel(t *testing.T) {
	times := make([]time.Time, 10)
	for i := range times {
		times[i] = rowTime(i)
	}
	got := Label(times, []Window{{rowTime(2), rowTime(4)}, {rowTime(7), rowTime(7)}})
	want := []int{0, 0, 1, 1, 1, 0, 0, 1, 0, 0}
	if !slices.Equal(got, want) {
		t.Errorf("Label = %v, want %v", got, want)
	}
}

const nabDir = "../../testdata/nab"

// TestNABTestdata reads the NAB subset in testdata/nab: 25 windows over 18
// files, every window's ends are timestamps of rows of its file, every
// window lies after its file's probationary part (as NAB's labeler
// guarantees), the label column agrees with the rows scoring treats as
// inside windows, and the null and perfect detectors score 0 and 100.
func TestNABTestdata(t *testing.T) {
	wins, err := LoadWindows(filepath.Join(nabDir, "combined_windows.json"))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, ws := range wins {
		total += len(ws)
	}
	if len(wins) != 18 || total != 25 {
		t.Fatalf("%d files, %d windows; want 18 and 25", len(wins), total)
	}
	keys := make([]string, 0, len(wins))
	for k := range wins {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var files []File
	for _, key := range keys {
		series, err := dataset.ReadFile(filepath.Join(nabDir, "data", filepath.FromSlash(key)), key)
		if err != nil {
			t.Fatal(err)
		}
		if len(series) != 1 {
			t.Fatalf("%s: %d series", key, len(series))
		}
		times := series[0].Times
		n := len(times)
		for k, w := range wins[key] {
			for _, end := range []time.Time{w.Start, w.End} {
				c := 0
				for _, tm := range times {
					if tm.Equal(end) {
						c++
					}
				}
				if c != 1 {
					t.Errorf("%s window %d: %s is the timestamp of %d rows, want 1", key, k, end, c)
				}
			}
			if p := Probation(n); !w.Start.After(times[p]) && !w.Start.Equal(times[p]) {
				t.Errorf("%s window %d starts %s, inside the probationary part (%d rows)", key, k, w.Start, p)
			}
		}
		files = append(files, File{Key: key, Times: times, Scores: make([]float64, n), Flags: make([]bool, n), Windows: wins[key]})
	}

	ps, err := prepare(files, true, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		label := Label(p.f.Times, p.f.Windows)
		inside := make([]int, len(label))
		for _, s := range p.spans {
			for i := s.l; i <= s.r; i++ {
				inside[i] = 1
			}
		}
		if !slices.Equal(label, inside) {
			t.Errorf("%s: Label disagrees with the scored window rows", p.f.Key)
		}
	}

	for _, pr := range Profiles() {
		null, err := ScoreFlags(files, pr)
		if err != nil {
			t.Fatal(err)
		}
		if null.Windows != 25 || null.Normalized != 0 || null.Raw != -pr.FN*25 {
			t.Errorf("%s null: %d windows, raw %v, normalised %v", pr.Name, null.Windows, null.Raw, null.Normalized)
		}
	}
	for fi := range files {
		for _, s := range ps[fi].spans {
			files[fi].Scores[s.l] = 1
		}
	}
	for _, pr := range Profiles() {
		thr, perfect, err := Optimize(files, pr)
		if err != nil {
			t.Fatal(err)
		}
		if thr != 1 || perfect.Normalized != 100 || perfect.Detected != 25 || perfect.FP != 0 {
			t.Errorf("%s perfect: threshold %v, normalised %v, detected %d, fp %d", pr.Name, thr, perfect.Normalized, perfect.Detected, perfect.FP)
		}
	}
}

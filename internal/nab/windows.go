package nab

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/vigil-stream/vigil/internal/dataset"
)

// ErrWindows is returned (wrapped, with the file key and window) for a
// windows file that is not a usable NAB combined_windows.json.
var ErrWindows = errors.New("bad windows file")

// Window is one labelled anomaly window: the rows from the one stamped Start
// to the one stamped End, both inclusive (NAB nab/labeler.py getLabels:
// t1 ≤ timestamp ≤ t2; nab/sweeper.py calcSweepScore enters a window at the
// row stamped with its start and leaves it after the row stamped with its
// end).
type Window struct {
	Start, End time.Time
}

// LoadWindows reads a NAB combined_windows.json; see ReadWindows.
func LoadWindows(path string) (map[string][]Window, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load windows: %w", err)
	}
	defer f.Close()
	w, err := ReadWindows(f)
	if err != nil {
		return nil, fmt.Errorf("load windows %s: %w", path, err)
	}
	return w, nil
}

// ReadWindows reads NAB's combined windows: a JSON object whose keys are
// data files relative to the data directory ("realKnownCause/nyc_taxi.csv")
// and whose values are lists of [start, end] timestamp strings
// ("2014-02-19 10:50:00.000000"; any layout dataset.ParseTime reads, so the
// times compare equal to the rows the backtest reads with package dataset).
// A file without anomalies has an empty list.
//
// Each window must have start ≤ end, and a file's windows must be in time
// order and disjoint: each starts after the previous one ends. NAB's label
// tooling merges overlapping windows (nab/labeler.py checkWindows) and its
// validateLabels tolerates a window starting at the very timestamp the
// previous one ends; that shared row would be in two windows, which the
// sweeper's single pass cannot score consistently (it gives the row to the
// later window only and never leaves the earlier one), so such a file is
// rejected here. The windows are
// returned as given; whether their ends are timestamps of rows is checked
// when a File is scored, since only then are the rows known.
func ReadWindows(r io.Reader) (map[string][]Window, error) {
	var raw map[string][][]string
	dec := json.NewDecoder(r)
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWindows, err)
	}
	if raw == nil {
		return nil, fmt.Errorf("%w: not a JSON object of file keys", ErrWindows)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrWindows)
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string][]Window, len(raw))
	for _, key := range keys {
		if key == "" {
			return nil, fmt.Errorf("%w: empty file key", ErrWindows)
		}
		ws := make([]Window, 0, len(raw[key]))
		for j, pair := range raw[key] {
			if len(pair) != 2 {
				return nil, fmt.Errorf("%w: %s window %d: %d timestamps, want [start, end]", ErrWindows, key, j, len(pair))
			}
			var w Window
			var err error
			if w.Start, err = dataset.ParseTime(pair[0]); err != nil {
				return nil, fmt.Errorf("%w: %s window %d start: %w", ErrWindows, key, j, err)
			}
			if w.End, err = dataset.ParseTime(pair[1]); err != nil {
				return nil, fmt.Errorf("%w: %s window %d end: %w", ErrWindows, key, j, err)
			}
			if w.End.Before(w.Start) {
				return nil, fmt.Errorf("%w: %s window %d ends (%s) before it starts (%s)", ErrWindows, key, j, pair[1], pair[0])
			}
			if j > 0 && !w.Start.After(ws[j-1].End) {
				return nil, fmt.Errorf("%w: %s window %d starts (%s) before window %d ends: windows must be in order and disjoint", ErrWindows, key, j, pair[0], j-1)
			}
			ws = append(ws, w)
		}
		out[key] = ws
	}
	return out, nil
}

// Label returns NAB's label column for rows stamped times: 1 for a row
// inside a window (Start ≤ t ≤ End), else 0, as nab/labeler.py getLabels
// computes it. Scoring instead takes a window to be the rows from the one
// stamped Start to the one stamped End (nab/sweeper.py); the two agree
// unless timestamps go back in time across a window's edge, which no file
// of NAB's corpus does around a window (the test on testdata/nab checks
// this for the subset held here).
func Label(times []time.Time, windows []Window) []int {
	out := make([]int, len(times))
	for i, t := range times {
		for _, w := range windows {
			if !t.Before(w.Start) && !t.After(w.End) {
				out[i] = 1
				break
			}
		}
	}
	return out
}

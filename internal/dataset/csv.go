package dataset

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-stream/vigil/internal/model"
)

// ErrFormat is returned (wrapped, with the line) for a file that is not a
// usable series CSV.
var ErrFormat = errors.New("bad series file")

// timeLayouts are the timestamp layouts accepted besides epoch numbers.
var timeLayouts = []string{
	"2006-01-02 15:04:05",
	"2006-01-02 15:04:05.999999999",
	time.RFC3339Nano,
	"2006-01-02T15:04:05",
	"2006-01-02",
}

// ParseTime parses a timestamp: one of the layouts above (UTC when no zone
// is given), or a number of seconds (≤ 1e11), milliseconds (≤ 1e14) or
// microseconds since the Unix epoch.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) && f >= 0 {
		switch {
		case f <= 1e11:
			return time.Unix(0, int64(f*1e9)).UTC(), nil
		case f <= 1e14:
			return time.UnixMilli(int64(f)).UTC(), nil
		default:
			return time.UnixMicro(int64(f)).UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("timestamp %q: not a known layout or epoch number", s)
}

// ReadCSV reads series from r. The header must have a timestamp and a value
// column; a series column, if present, names each row's series (otherwise
// every row belongs to defaultID); every other column is a numeric field
// (an empty cell is a missing field, NaN). Rows stay in file order, even
// where a timestamp goes back in time (real files have such rows: NAB's
// machine_temperature_system_failure.csv jumps back 55 minutes at line
// 10151); what to do with them is the reader's policy, as it is the
// consumer's for late readings. Series are returned sorted by id.
func ReadCSV(r io.Reader, defaultID string) ([]model.Series, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrFormat, err)
	}
	tsCol, valCol, idCol := -1, -1, -1
	var fieldCols []int
	var fieldNames []string
	for i, h := range head {
		switch strings.ToLower(strings.TrimSpace(h)) {
		case "timestamp", "time", "event_time":
			tsCol = i
		case "value":
			valCol = i
		case "series", "series_id":
			idCol = i
		default:
			fieldCols = append(fieldCols, i)
			fieldNames = append(fieldNames, strings.TrimSpace(h))
		}
	}
	if tsCol < 0 || valCol < 0 {
		return nil, fmt.Errorf("%w: header %q needs a timestamp and a value column", ErrFormat, strings.Join(head, ","))
	}
	if idCol < 0 && defaultID == "" {
		return nil, fmt.Errorf("%w: no series column and no series id given", ErrFormat)
	}
	bySeries := map[string]*model.Series{}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrFormat, line, err)
		}
		id := defaultID
		if idCol >= 0 {
			id = strings.TrimSpace(rec[idCol])
			if id == "" {
				return nil, fmt.Errorf("%w: line %d: empty series id", ErrFormat, line)
			}
		}
		t, err := ParseTime(rec[tsCol])
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrFormat, line, err)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[valCol]), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%w: line %d: value %q is not a finite number", ErrFormat, line, rec[valCol])
		}
		s := bySeries[id]
		if s == nil {
			s = &model.Series{ID: id}
			if len(fieldNames) > 0 {
				s.Fields = make(map[string][]float64, len(fieldNames))
			}
			bySeries[id] = s
		}
		s.Times = append(s.Times, t)
		s.Values = append(s.Values, v)
		for j, c := range fieldCols {
			f := math.NaN()
			if cell := strings.TrimSpace(rec[c]); cell != "" {
				if f, err = strconv.ParseFloat(cell, 64); err != nil || math.IsInf(f, 0) {
					return nil, fmt.Errorf("%w: line %d: field %s %q is not a finite number", ErrFormat, line, fieldNames[j], cell)
				}
			}
			s.Fields[fieldNames[j]] = append(s.Fields[fieldNames[j]], f)
		}
	}
	ids := make([]string, 0, len(bySeries))
	for id := range bySeries {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]model.Series, len(ids))
	for i, id := range ids {
		out[i] = *bySeries[id]
	}
	return out, nil
}

// ReadFile reads a series CSV; rows without a series column belong to
// the series named id.
func ReadFile(path, id string) ([]model.Series, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := ReadCSV(f, id)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// NABFile is one file of a corpus in the Numenta Anomaly Benchmark layout.
type NABFile struct {
	// Key is "<category>/<file>.csv", as in NAB's label files; it is also
	// the series id.
	Key  string
	Path string
}

// ListNAB lists dir/<category>/<file>.csv, sorted by key.
func ListNAB(dir string) ([]NABFile, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "*", "*.csv"))
	if err != nil {
		return nil, err
	}
	if len(matches) == 0 {
		return nil, fmt.Errorf("%s: no <category>/<file>.csv files", dir)
	}
	out := make([]NABFile, len(matches))
	for i, m := range matches {
		out[i] = NABFile{Key: filepath.Base(filepath.Dir(m)) + "/" + filepath.Base(m), Path: m}
	}
	slices.SortFunc(out, func(a, b NABFile) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

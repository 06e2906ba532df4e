package model

import (
	"encoding/csv"
	"os"
	"strconv"
	"testing"
	"time"
)

// nabDir is the shared NAB subset, relative to this package.
const nabDir = "../../testdata/nab/data/"

// loadNAB reads a NAB data file (timestamp,value) as a Series named after
// the file. If limit > 0 only the first limit readings are kept.
func loadNAB(tb testing.TB, file string, limit int) Series {
	tb.Helper()
	f, err := os.Open(nabDir + file)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	s := Series{ID: file}
	for _, r := range recs[1:] {
		ts, err := time.Parse("2006-01-02 15:04:05", r[0])
		if err != nil {
			tb.Fatalf("%s: %v", file, err)
		}
		v, err := strconv.ParseFloat(r[1], 64)
		if err != nil {
			tb.Fatalf("%s: %v", file, err)
		}
		s.Times = append(s.Times, ts)
		s.Values = append(s.Values, v)
		if limit > 0 && len(s.Values) == limit {
			break
		}
	}
	return s
}

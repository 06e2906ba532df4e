package dataset_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vigil-stream/vigil/internal/dataset"
)

func TestReadCSV(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		id      string
		series  []string
		lens    []int
		wantErr bool
	}{
		{name: "nab layout", in: "timestamp,value\n2014-07-01 00:00:00,10844\n2014-07-01 00:30:00,8127\n", id: "nyc", series: []string{"nyc"}, lens: []int{2}},
		{name: "series column and a field", in: "series,timestamp,value,temp\nb,2020-01-01T00:00:00Z,1,20\na,1577836800,2,\nb,2020-01-01T00:01:00Z,3,21\n",
			series: []string{"a", "b"}, lens: []int{1, 2}},
		{name: "epoch millis", in: "timestamp,value\n1577836800000,1\n", id: "x", series: []string{"x"}, lens: []int{1}},
		{name: "missing value column", in: "timestamp,v\n2020-01-01,1\n", id: "x", wantErr: true},
		{name: "non-finite value", in: "timestamp,value\n2020-01-01,NaN\n", id: "x", wantErr: true},
		{name: "bad time", in: "timestamp,value\nyesterday,1\n", id: "x", wantErr: true},
		{name: "back in time stays in file order", in: "timestamp,value\n2020-01-02,1\n2020-01-01,2\n", id: "x", series: []string{"x"}, lens: []int{2}},
		{name: "no series id", in: "timestamp,value\n2020-01-01,1\n", wantErr: true},
		{name: "ragged row", in: "timestamp,value\n2020-01-01,1,3\n", id: "x", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := dataset.ReadCSV(strings.NewReader(tc.in), tc.id)
			if tc.wantErr {
				if !errors.Is(err, dataset.ErrFormat) {
					t.Fatalf("err = %v, want ErrFormat", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.series) {
				t.Fatalf("%d series, want %d", len(got), len(tc.series))
			}
			for i, s := range got {
				if s.ID != tc.series[i] || len(s.Values) != tc.lens[i] || len(s.Times) != tc.lens[i] {
					t.Fatalf("series %d = %s with %d values, want %s with %d", i, s.ID, len(s.Values), tc.series[i], tc.lens[i])
				}
			}
		})
	}
}

func TestReadCSVFields(t *testing.T) {
	got, err := dataset.ReadCSV(strings.NewReader("series,timestamp,value,temp\na,2020-01-01T00:00:00Z,2,\na,2020-01-01T00:01:00Z,3,21.5\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	temp := got[0].Fields["temp"]
	if len(temp) != 2 || !math.IsNaN(temp[0]) || temp[1] != 21.5 {
		t.Fatalf("temp = %v, want [NaN 21.5]", temp)
	}
	if !got[0].Times[1].Equal(time.Date(2020, 1, 1, 0, 1, 0, 0, time.UTC)) {
		t.Fatalf("time = %v", got[0].Times[1])
	}
}

func TestNABCorpus(t *testing.T) {
	files, err := dataset.ListNAB("../../testdata/nab/data")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 18 {
		t.Fatalf("%d NAB files, want 18", len(files))
	}
	for _, f := range files {
		s, err := dataset.ReadFile(f.Path, f.Key)
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != 1 || len(s[0].Values) < 1000 {
			t.Fatalf("%s: %d series", f.Key, len(s))
		}
	}
}

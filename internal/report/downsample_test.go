package report

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestMinMax(t *testing.T) {
	nan := math.NaN()
	t.Run("short lines pass through, gaps normalised", func(t *testing.T) {
		xs := []float64{0, 1, 2, 3, 4, 5}
		ys := []float64{nan, 1, nan, nan, 2, nan}
		ox, oy := minMax(xs, ys, 0, 5, 100)
		if len(ox) != 3 || oy[0] != 1 || !math.IsNaN(oy[1]) || oy[2] != 2 || ox[2] != 4 {
			t.Fatalf("got %v %v", ox, oy)
		}
	})
	t.Run("long lines keep spikes and gaps", func(t *testing.T) {
		const n = 100_000
		xs := make([]float64, n)
		ys := make([]float64, n)
		for i := range xs {
			xs[i] = float64(i)
			ys[i] = math.Sin(float64(i) / 1000)
		}
		ys[31_337] = 50  // one-reading spike up
		ys[77_777] = -40 // and down
		ys[50_000] = nan // one-reading gap
		const buckets = 500
		ox, oy := minMax(xs, ys, 0, n-1, buckets)
		if len(ox) > 2*buckets+2 {
			t.Errorf("%d points for %d buckets", len(ox), buckets)
		}
		var hi, lo float64
		gaps := 0
		for i, y := range oy {
			if math.IsNaN(y) {
				gaps++
				continue
			}
			hi, lo = math.Max(hi, y), math.Min(lo, y)
			if i > 0 && ox[i] < ox[i-1] {
				t.Fatalf("x goes back at %d", i)
			}
		}
		if hi != 50 || lo != -40 {
			t.Errorf("spikes lost: max %v, min %v", hi, lo)
		}
		if gaps != 1 {
			t.Errorf("%d gaps, want 1", gaps)
		}
	})
}

func TestThinMarkers(t *testing.T) {
	xs := make([]float64, 1000)
	ys := make([]float64, 1000)
	mark := make([]bool, 1000)
	for i := range xs {
		xs[i], ys[i], mark[i] = float64(i), float64(i%7), i >= 100
	}
	ys[500] = math.NaN()
	ox, oy := thinMarkers(xs, ys, mark, 0, 999, 10)
	if len(ox) != 9 {
		t.Fatalf("%d markers, want 9 (one per bucket with flags)", len(ox))
	}
	for _, y := range oy {
		if y != 6 {
			t.Errorf("marker at %v, want the bucket's largest value 6", y)
		}
	}
}

func TestTimeAxis(t *testing.T) {
	base := time.Date(2026, 11, 20, 7, 13, 0, 0, time.UTC)
	for _, tc := range []struct {
		span   time.Duration
		format string
	}{
		{30 * time.Second, "15:04:05"},
		{3 * time.Hour, "15:04"},
		{2 * 24 * time.Hour, "Jan 2\n15:04"},
		{7 * 24 * time.Hour, "Jan 2"},
		{60 * 24 * time.Hour, "Jan 2"},
		{400 * 24 * time.Hour, "2006-01"},
	} {
		lo := float64(base.Unix())
		hi := float64(base.Add(tc.span).Unix())
		tt := timeAxis(lo, hi)
		if tt.Format != tc.format {
			t.Errorf("%v: format %q, want %q", tc.span, tt.Format, tc.format)
		}
		ticks := tt.Ticks(lo, hi)
		if len(ticks) < 2 || len(ticks) > maxTimeTicks+1 {
			t.Errorf("%v: %d ticks", tc.span, len(ticks))
		}
		for _, tk := range ticks {
			if tk.Value < lo || tk.Value > hi {
				t.Errorf("%v: tick %v outside [%v, %v]", tc.span, tk.Value, lo, hi)
			}
			if tc.span >= 24*time.Hour && int64(tk.Value)%60 != 0 {
				t.Errorf("%v: tick %s not on a round minute", tc.span, tk.Label)
			}
		}
	}
	if ticks := (alignedTicks{step: 3600}).Ticks(5, 5); ticks != nil {
		t.Errorf("empty range: %v", ticks)
	}
	ticks := intTicks{}.Ticks(1, 40)
	if len(ticks) == 0 || len(ticks) > 11 || ticks[0].Value != 5 {
		t.Errorf("epoch ticks %v", ticks)
	}
	lt := logTicks{}.Ticks(1e-4, 1e6)
	if len(lt) != 10*9+1 {
		t.Errorf("%d log ticks over 10 decades, want 91", len(lt))
	}
	var labels []string
	for _, tk := range lt {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if got := strings.Join(labels, " "); got != "1e-4 0.001 0.01 0.1 1 10 100 1000 1e4 1e5 1e6" {
		t.Errorf("log tick labels %q", got)
	}
	for _, tk := range (trimmedTicks{}).Ticks(17.5, 27.5) {
		if strings.Contains(tk.Label, ".") && strings.HasSuffix(tk.Label, "0") {
			t.Errorf("tick label %q keeps a trailing zero", tk.Label)
		}
	}
}

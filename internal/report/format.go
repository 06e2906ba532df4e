package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

const dash = "—"

// formatInt writes n with thousands separators: 1234567 → "1,234,567".
func formatInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// formatFloat shows about four significant digits without exponents in
// the usual ranges; NaN and infinities are shown as a dash.
func formatFloat(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return dash
	case v == 0:
		return "0"
	}
	a := math.Abs(v)
	if a >= 1e9 || a < 1e-4 {
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
	if a >= 1000 {
		return formatInt(int64(math.Round(v)))
	}
	decimals := max(0, 3-int(math.Floor(math.Log10(a))))
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// formatChange shows the relative change from a to b ("−16 %"), or a dash
// when it is not defined.
func formatChange(a, b float64) string {
	if !finite(a) || !finite(b) || a == 0 {
		return dash
	}
	c := (b - a) / math.Abs(a) * 100
	switch {
	case math.Abs(c) < 0.05:
		return "0 %"
	case c < 0:
		return "−" + strconv.FormatFloat(-c, 'f', 1, 64) + " %"
	}
	return "+" + strconv.FormatFloat(c, 'f', 1, 64) + " %"
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return dash
	}
	t = t.UTC()
	if t.Second() != 0 || t.Nanosecond() != 0 {
		return t.Format("2006-01-02 15:04:05")
	}
	return t.Format("2006-01-02 15:04")
}

func formatRange(from, to time.Time) string {
	if from.IsZero() && to.IsZero() {
		return dash
	}
	return formatTime(from) + " → " + formatTime(to)
}

// formatDuration rounds d for people: "0.4 s", "42 s", "3 min 05 s",
// "2 h 07 min".
func formatDuration(d time.Duration) string {
	switch {
	case d < 0:
		return dash
	case d < 10*time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Round(time.Second).Seconds()))
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%d min %02d s", int(d/time.Minute), int(d%time.Minute/time.Second))
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%d h %02d min", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return formatInt(int64(n)) + " " + one
	}
	return formatInt(int64(n)) + " " + many
}

// formatDays is formatRange to the day, for tables, when the range spans
// at least two days; shorter ranges keep their times.
func formatDays(from, to time.Time) string {
	if from.IsZero() || to.IsZero() || to.Sub(from) < 48*time.Hour {
		return formatRange(from, to)
	}
	return from.UTC().Format("2006-01-02") + " → " + to.UTC().Format("2006-01-02")
}

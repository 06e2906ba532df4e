package model

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Features describes how a reading becomes the input vector of one step.
//
// The vector is, in order:
//
//	[0]                  the scaled value
//	[1, 1+len(Fields))   the scaled further fields, in the order of Fields
//	then, if Calendar:   sin and cos of the time of day, sin and cos of the
//	                     day of the week (UTC), each of period 1 day / 7 days
//
// A field missing from a reading enters as 0 (the training median after
// scaling). The calendar features let the network learn daily and weekly
// seasonality, which most real sensor data has.
type Features struct {
	Fields   []string `yaml:"fields"`
	Calendar bool     `yaml:"calendar"`
}

// calendarWidth is the number of calendar inputs when Features.Calendar is set.
const calendarWidth = 4

// Channels returns the number of scaled numeric channels: the value and the
// further fields.
func (f Features) Channels() int { return 1 + len(f.Fields) }

// Width returns the length of the input vector.
func (f Features) Width() int {
	w := f.Channels()
	if f.Calendar {
		w += calendarWidth
	}
	return w
}

// Validate reports whether the feature settings are usable.
func (f Features) Validate() error {
	seen := make(map[string]bool, len(f.Fields))
	for _, name := range f.Fields {
		if name == "" {
			return fmt.Errorf("features: empty field name")
		}
		if seen[name] {
			return fmt.Errorf("features: field %q listed twice", name)
		}
		seen[name] = true
	}
	return nil
}

// Encode writes the input vector of one reading into dst, which must have
// length f.Width() (a shorter dst is a programmer error and panics). It does
// not allocate.
func (f Features) Encode(dst []float32, sc *Scaler, t time.Time, value float64, fields map[string]float64) {
	if len(dst) != f.Width() {
		panic(fmt.Sprintf("model: feature vector has length %d, want %d", len(dst), f.Width()))
	}
	dst[0] = float32(sc.Scale(0, value))
	for i, name := range f.Fields {
		v, ok := fields[name]
		if !ok {
			dst[1+i] = 0
			continue
		}
		dst[1+i] = float32(sc.Scale(1+i, v))
	}
	if f.Calendar {
		k := f.Channels()
		encodeCalendar(dst[k:k+calendarWidth], t)
	}
}

// encodeCalendar writes sin/cos of the time of day and of the day of the
// week of t (in UTC).
func encodeCalendar(dst []float32, t time.Time) {
	const day = 24 * 60 * 60
	u := t.UTC()
	sec := float64(u.Hour()*3600+u.Minute()*60+u.Second()) + float64(u.Nanosecond())/1e9
	tod := 2 * math.Pi * sec / day
	dow := 2 * math.Pi * (float64(u.Weekday()) + sec/day) / 7
	dst[0] = float32(math.Sin(tod))
	dst[1] = float32(math.Cos(tod))
	dst[2] = float32(math.Sin(dow))
	dst[3] = float32(math.Cos(dow))
}

// Scaler maps each numeric channel to a robust standard score:
//
//	x' = (x − Center[k]) / Spread[k]
//
// with Center the median and Spread the interquartile range divided by
// 1.349 (the IQR of a standard normal), so that for Gaussian data x' has
// unit variance, while a few outliers in the training data (the very
// anomalies Vigil looks for) move neither figure much: the median and IQR
// have 50% and 25% breakdown points, the mean and standard deviation 0%.
// When the IQR is zero (a mostly constant channel) Spread falls back to the
// mean absolute deviation from the median, then to 1.
//
// A Scaler is immutable after fitting and safe for concurrent use.
type Scaler struct {
	Center []float64
	Spread []float64
}

// FitScaler fits a Scaler to channels, one slice of training values per
// channel. NaN and infinite values are ignored; a channel with no finite
// value is an error.
func FitScaler(channels [][]float64) (*Scaler, error) {
	sc := &Scaler{Center: make([]float64, len(channels)), Spread: make([]float64, len(channels))}
	for k, xs := range channels {
		finite := make([]float64, 0, len(xs))
		for _, x := range xs {
			if !math.IsNaN(x) && !math.IsInf(x, 0) {
				finite = append(finite, x)
			}
		}
		if len(finite) == 0 {
			return nil, fmt.Errorf("fit scaler: channel %d has no finite value", k)
		}
		slices.Sort(finite)
		med := quantileSorted(finite, 0.5)
		spread := (quantileSorted(finite, 0.75) - quantileSorted(finite, 0.25)) / 1.349
		if !(spread > 0) {
			var mad float64
			for _, x := range finite {
				mad += math.Abs(x - med)
			}
			spread = mad / float64(len(finite))
		}
		if !(spread > 0) {
			spread = 1
		}
		sc.Center[k], sc.Spread[k] = med, spread
	}
	return sc, nil
}

// Scale returns channel k of x in scaled units.
func (s *Scaler) Scale(k int, x float64) float64 { return (x - s.Center[k]) / s.Spread[k] }

// Unscale maps a scaled value of channel k back to the channel's units.
func (s *Scaler) Unscale(k int, x float64) float64 { return x*s.Spread[k] + s.Center[k] }

// quantileSorted returns the q-quantile of sorted xs by linear interpolation
// between closest ranks (Hyndman & Fan type 7, the default of R and numpy).
func quantileSorted(xs []float64, q float64) float64 {
	if len(xs) == 1 {
		return xs[0]
	}
	pos := q * float64(len(xs)-1)
	lo := int(math.Floor(pos))
	if lo >= len(xs)-1 {
		return xs[len(xs)-1]
	}
	frac := pos - float64(lo)
	return xs[lo] + frac*(xs[lo+1]-xs[lo])
}

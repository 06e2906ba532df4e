package model

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Series is the history of one sensor series, as training reads it.
type Series struct {
	// ID names the series; it keys the series' Scaler in a group model.
	ID string
	// Times are the reading times, one per value. Required when the
	// calendar features are on; otherwise optional (used for the data range
	// of the report only).
	Times []time.Time
	// Values are the readings of the predicted channel, oldest first. All
	// must be finite.
	Values []float64
	// Fields holds the further numeric fields of multivariate readings, each
	// as long as Values. NaN marks a reading without that field; it enters
	// the network as 0, the training median after scaling, exactly as
	// Features.Encode treats a missing field.
	Fields map[string][]float64
}

// ErrBadData is returned, wrapped with the series and position, when the
// training data cannot be used: non-finite values, mismatched lengths,
// series too short for the configured split and horizon.
var ErrBadData = errors.New("model: bad training data")

// preparedSeries is one series encoded for the network.
type preparedSeries struct {
	id     string
	n      int       // readings
	n0     int       // first validation reading (n when there is no validation)
	x      []float32 // n × width input vectors
	y      []float32 // n scaled values, the targets
	values []float64 // the n readings in the series' units
	scaler *Scaler
	start  time.Time
	end    time.Time
}

// target returns the scaled value the output j of step t predicts,
// reading t+1+j, and whether it exists.
func (p *preparedSeries) target(t, j int) (float32, bool) {
	k := t + 1 + j
	if k >= p.n {
		return 0, false
	}
	return p.y[k], true
}

// splitPoint returns the first validation index of a series of n readings:
// the last round(valFraction·n) readings are the validation part.
func splitPoint(n int, valFraction float64) int {
	return n - int(math.Round(valFraction*float64(n)))
}

// prepareSeries checks s, fits its Scaler on the training part and encodes
// every reading with feat.
func prepareSeries(s Series, feat Features, valFraction float64, horizon int) (*preparedSeries, error) {
	n := len(s.Values)
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: series %q: %s", ErrBadData, s.ID, fmt.Sprintf(format, args...))
	}
	if feat.Calendar && len(s.Times) != n {
		return nil, bad("calendar features need %d times, have %d", n, len(s.Times))
	}
	if len(s.Times) != 0 && len(s.Times) != n {
		return nil, bad("%d times for %d values", len(s.Times), n)
	}
	n0 := splitPoint(n, valFraction)
	// At least one training pair (t → t+1…t+horizon, all before n0) and,
	// with validation, one validation pair: a series so short that its
	// validation part rounds to nothing is an error, not a silent skip.
	if n0 < horizon+1 || (valFraction > 0 && n-n0 < horizon) {
		return nil, bad("%d readings are too few for validation fraction %g and horizon %d", n, valFraction, horizon)
	}
	for i, v := range s.Values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, bad("value %d is %g", i, v)
		}
	}
	channels := [][]float64{s.Values[:n0]}
	for _, name := range feat.Fields {
		col, ok := s.Fields[name]
		if !ok {
			return nil, bad("no field %q", name)
		}
		if len(col) != n {
			return nil, bad("field %q has %d values for %d readings", name, len(col), n)
		}
		for i, v := range col {
			if math.IsInf(v, 0) {
				return nil, bad("field %q value %d is %g", name, i, v)
			}
		}
		channels = append(channels, col[:n0])
	}
	sc, err := FitScaler(channels)
	if err != nil {
		return nil, bad("%v", err)
	}
	w := feat.Width()
	p := &preparedSeries{id: s.ID, n: n, n0: n0, x: make([]float32, n*w), y: make([]float32, n), values: s.Values, scaler: sc}
	if len(s.Times) > 0 {
		p.start, p.end = s.Times[0], s.Times[n-1]
	}
	fields := make(map[string]float64, len(feat.Fields))
	for i, v := range s.Values {
		var ts time.Time
		if len(s.Times) > 0 {
			ts = s.Times[i]
		}
		for _, name := range feat.Fields {
			if fv := s.Fields[name][i]; math.IsNaN(fv) {
				delete(fields, name)
			} else {
				fields[name] = fv
			}
		}
		feat.Encode(p.x[i*w:(i+1)*w], sc, ts, v, fields)
		p.y[i] = p.x[i*w]
		if f := float64(p.y[i]); math.IsInf(f, 0) {
			return nil, bad("value %d (%g) overflows float32 after scaling", i, v)
		}
	}
	return p, nil
}

// chunk is a contiguous run [start, end) of input steps of one series that
// one batch row walks through, segment after segment.
type chunk struct {
	series     int
	start, end int
}

// trainChunks splits the training steps of every series (inputs t = 0 …
// n0−2, whose first target t+1 lies in the training part) into contiguous
// chunks of at most ⌈total/B⌉ steps, one per batch row, like the parallel
// streams of language-model training: row r runs its chunk from start to
// end over successive segments, carrying its state, so that the state at
// every step is the one the network built from the preceding readings of
// the same series (from the chunk start). It returns the chunks and the
// chunk length C. A single long series gives B rows (fewer only when the
// series has fewer than B·C steps after rounding); a group of S series
// gives at most B+S−1 rows.
func trainChunks(series []*preparedSeries, batch int) ([]chunk, int) {
	total := 0
	for _, s := range series {
		total += s.n0 - 1
	}
	c := (total + batch - 1) / batch
	var out []chunk
	for i, s := range series {
		for start := 0; start < s.n0-1; start += c {
			out = append(out, chunk{series: i, start: start, end: min(start+c, s.n0-1)})
		}
	}
	return out, c
}

package report

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

var t0 = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

// synthSeries makes a plausible validation slice: a daily temperature-like
// cycle with noise, a prediction that tracks it with a small lag, an EWMA
// of the absolute error, a threshold recomputed every 70 readings, and one
// anomaly (a level shift) that the threshold flags. Readings are 5 minutes
// apart from t0; gap (if > 0) readings from the middle are NaN.
func synthSeries(id string, n int, seed uint64, gap int) Series {
	rng := rand.New(rand.NewPCG(seed, seed*7+1))
	s := Series{
		ID:            id,
		Readings:      n * 5,
		Used:          n*5 - 140,
		From:          t0.Add(-28 * 24 * time.Hour),
		To:            t0.Add(time.Duration(n-1) * 5 * time.Minute),
		Times:         make([]time.Time, n),
		Actual:        make([]float64, n),
		Predicted:     make([]float64, n),
		SmoothedError: make([]float64, n),
		Threshold:     make([]float64, n),
		Flagged:       make([]bool, n),
	}
	base := 18 + 4*rng.Float64()
	amp := 2 + 2*rng.Float64()
	anomAt := n * 2 / 3
	prev := base
	var ewma, sum, sumSq float64
	thr := math.NaN()
	var absSum float64
	for i := range n {
		t := t0.Add(time.Duration(i) * 5 * time.Minute)
		s.Times[i] = t
		h := float64(t.Hour()) + float64(t.Minute())/60
		v := base + amp*math.Sin(2*math.Pi*(h-9)/24) + 0.25*rng.NormFloat64()
		if i >= anomAt && i < anomAt+18 {
			v += 3.5
		}
		p := 0.7*v + 0.3*prev + 0.15*rng.NormFloat64()
		if i >= anomAt && i < anomAt+18 {
			p -= 2.6
		}
		prev = v
		e := math.Abs(v - p)
		absSum += e
		alpha := 2.0 / (30 + 1)
		ewma = alpha*e + (1-alpha)*ewma
		sum += ewma
		sumSq += ewma * ewma
		if i > 0 && i%70 == 0 {
			k := float64(i + 1)
			mu := sum / k
			sd := math.Sqrt(math.Max(sumSq/k-mu*mu, 0))
			thr = mu + 4*sd
		}
		s.Actual[i], s.Predicted[i] = v, p
		s.SmoothedError[i], s.Threshold[i] = ewma, thr
		s.Flagged[i] = !math.IsNaN(thr) && ewma > thr
	}
	if gap > 0 {
		mid := n / 3
		for i := mid; i < min(n, mid+gap); i++ {
			s.Actual[i], s.Predicted[i], s.SmoothedError[i] = math.NaN(), math.NaN(), math.NaN()
			s.Flagged[i] = false
		}
	}
	s.ValMAE = absSum / float64(n)
	s.Excluded = []Span{
		{From: t0.Add(-20 * 24 * time.Hour), To: t0.Add(-19 * 24 * time.Hour), Why: "anomaly episode 3f2a9c", Readings: 288},
	}
	if n > 600 {
		a := s.Times[n/5]
		s.Excluded = append(s.Excluded, Span{From: a, To: a.Add(6 * time.Hour), Why: "label window", Readings: 72})
	}
	return s
}

// synthRun makes a run with models × series, each series n readings.
func synthRun(models, series, n int) *Run {
	r := &Run{
		Title:    "Vigil nightly training",
		Started:  t0.Add(7*24*time.Hour + 2*time.Hour),
		Finished: t0.Add(7*24*time.Hour + 2*time.Hour + 47*time.Minute + 13*time.Second),
		Source:   "kafka topic sensors (2026-10-28 to 2026-11-27)",
		Settings: []KV{
			{"Architecture", "LSTM 2×64, dropout 0.1"},
			{"Window", "96 readings"},
			{"Epochs", "40 (patience 6)"},
			{"Validation", "last 20 % of each series"},
			{"Promotion rule", "val MAE at least 2 % better and false alarms not worse"},
		},
		Skipped: []Skipped{
			{ID: "plant-3/boiler/temp-9", Reason: "too little data: 212 readings, 2,016 needed"},
			{ID: "plant-1/hall/humidity-2", Reason: "all readings excluded (label window covers the range)"},
		},
		Notes: []string{
			"3 readings were dead-lettered during replay (schema mismatch); they are excluded.",
		},
	}
	decisions := []string{DecisionPromoted, DecisionKept, DecisionForced, DecisionDryRun, DecisionFailed}
	for m := range models {
		mod := Model{
			Name:      fmt.Sprintf("plant-%d-temperatures", m+1),
			Version:   int64(40 + m),
			Decision:  decisions[m%len(decisions)],
			Duration:  time.Duration(5+m) * time.Minute,
			BestEpoch: 0,
		}
		champ := &Metrics{ValMAE: 0.25, ValRMSE: 0.34, FalseAlarmsPerDay: 0.6, Flagged: 14}
		chall := &Metrics{ValMAE: 0.21, ValRMSE: 0.30, FalseAlarmsPerDay: 0.4, Flagged: 11}
		mod.Champion, mod.Challenger = champ, chall
		mod.Reason = "challenger val MAE 0.21 vs champion 0.25; false alarms 0.4/day vs 0.6/day"
		epochs := 24 + 3*m
		best := math.Inf(1)
		for e := range epochs {
			x := float64(e + 1)
			tr := 0.9*math.Exp(-x/4) + 0.04 + 0.002*math.Sin(x)
			va := 0.8*math.Exp(-x/5) + 0.055 + 0.0004*x*x/10
			mod.Loss = append(mod.Loss, Epoch{Train: tr, Validation: va})
			if va < best {
				best, mod.BestEpoch = va, e+1
			}
		}
		switch mod.Decision {
		case DecisionFailed:
			mod.Challenger = nil
			mod.Reason = "training diverged at epoch 7 (training loss 3.2e+04); the champion stays in service"
			mod.Loss = mod.Loss[:7]
			mod.Loss[6] = Epoch{Train: 3.2e4, Validation: math.NaN()}
			mod.BestEpoch = 6
		case DecisionDryRun:
			mod.Version = 0
			mod.Reason = "dry run: challenger val MAE 0.21 vs champion 0.25; nothing published"
		}
		for s := range series {
			id := fmt.Sprintf("plant-%d/line-%d/temp-%02d", m+1, s/4+1, s+1)
			gap := 0
			if s%3 == 1 {
				gap = 20
			}
			ser := synthSeries(id, n, uint64(m*1000+s+1), gap)
			if mod.Decision == DecisionFailed {
				ser.Times, ser.Actual, ser.Predicted, ser.SmoothedError, ser.Threshold, ser.Flagged = nil, nil, nil, nil, nil, nil
				ser.ValMAE = math.NaN()
			}
			mod.Series = append(mod.Series, ser)
		}
		r.Models = append(r.Models, mod)
	}
	return r
}

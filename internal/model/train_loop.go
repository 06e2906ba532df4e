package model

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// trainer runs the epochs of one training run.
type trainer struct {
	cfg      TrainConfig
	series   []*preparedSeries
	chunks   []chunk // one per batch row
	segs     int     // segments per epoch
	params   *graphParams
	opt      *adam
	rng      *rand.Rand
	graph    *lstmGraph
	baseline float64 // mean squared scaled training target: the loss of predicting the median
}

// baselineLoss returns the mean squared scaled target over the training
// pairs, the loss of a network that always predicts 0 (the median).
func (tr *trainer) baselineLoss() float64 {
	var s, n float64
	for _, p := range tr.series {
		for t := 1; t < p.n0; t++ {
			v := float64(p.y[t])
			s += v * v
			n++
		}
	}
	return s / n
}

// epoch runs one pass over the training chunks, segment by segment,
// carrying each row's state from one segment into the next.
func (tr *trainer) epoch(ctx context.Context, epoch int) (EpochStats, error) {
	st := EpochStats{Epoch: epoch}
	lg := tr.graph
	B, T, K := lg.B, lg.T, tr.cfg.Horizon
	W := tr.params.inputs
	lg.resetState()
	var lossSum, countSum, normSum float64
	updates, clipped := 0, 0
	for k := 0; k < tr.segs; k++ {
		if err := ctx.Err(); err != nil {
			return st, fmt.Errorf("model: training cancelled in epoch %d: %w", epoch, err)
		}
		target, mask := f32(lg.target), f32(lg.mask)
		clear(target)
		clear(mask)
		count := 0
		for t := range T {
			xd := f32(lg.x[t])
			for r, ch := range tr.chunks {
				row := xd[r*W : (r+1)*W]
				pos := ch.start + k*T + t
				if pos >= ch.end {
					clear(row)
					continue
				}
				s := tr.series[ch.series]
				copy(row, s.x[pos*W:(pos+1)*W])
				for j := range K {
					// Only targets inside the training part count.
					if pos+1+j < s.n0 {
						i := (t*B+r)*K + j
						target[i], mask[i] = s.y[pos+1+j], 1
						count++
					}
				}
			}
		}
		if count == 0 {
			continue
		}
		tr.fillDropout()
		lg.setInvCount(float32(1 / float64(count)))
		if err := lg.run(tr.params); err != nil {
			return st, err
		}
		loss := float64(lg.lossValue())
		if math.IsNaN(loss) || math.IsInf(loss, 0) || loss > divergeFactor*(1+tr.baseline) {
			return st, fmt.Errorf("epoch %d, segment %d: loss %g: %w", epoch, k+1, loss, ErrDiverged)
		}
		grads := lg.grads()
		norm := clipGlobalNorm(grads, tr.cfg.ClipNorm)
		if math.IsNaN(norm) || math.IsInf(norm, 0) {
			return st, fmt.Errorf("epoch %d, segment %d: gradient norm %g: %w", epoch, k+1, norm, ErrDiverged)
		}
		if tr.cfg.ClipNorm > 0 && norm > tr.cfg.ClipNorm {
			clipped++
		}
		tr.opt.step(tr.params.data, grads)
		lg.carryState()
		lossSum += loss * float64(count)
		countSum += float64(count)
		normSum += norm
		updates++
	}
	st.TrainLoss = lossSum / countSum
	if updates > 0 {
		st.GradNorm = normSum / float64(updates)
		st.Clipped = float64(clipped) / float64(updates)
	}
	return st, nil
}

// fillDropout draws fresh inverted-dropout masks: each entry 0 with
// probability p, else 1/(1−p), so that the expected input of a layer is
// the same in training and at inference, where nothing is dropped
// (Srivastava et al. 2014, "Dropout", JMLR 15). Layer 0's input uses
// InputDropout, the others Dropout.
func (tr *trainer) fillDropout() {
	for l, masks := range tr.graph.drop {
		if masks == nil {
			continue
		}
		p := tr.cfg.Dropout
		if l == 0 {
			p = tr.cfg.InputDropout
		}
		keep := float32(1 / (1 - p))
		for _, m := range masks {
			d := f32(m)
			for i := range d {
				if tr.rng.Float64() < p {
					d[i] = 0
				} else {
					d[i] = keep
				}
			}
		}
	}
}

// evaluator runs the network over whole series as the consumer does, one
// batch row per series, each from a zero state at its first reading.
type evaluator struct {
	series []*preparedSeries
	graph  *lstmGraph
}

func newEvaluator(p *graphParams, series []*preparedSeries, seqLen int) *evaluator {
	return &evaluator{series: series, graph: newLSTMGraph(p, len(series), seqLen, false, false, false)}
}

// evalResult holds the validation figures of one evaluation.
type evalResult struct {
	// mse is the mean over all series, validation steps and outputs of
	// (ŷ − y)² in scaled units.
	mse float64
	// absErr[i] are series i's |ŷ − y| of output 0 over its validation
	// readings, in the series' units, in time order.
	absErr [][]float64
}

// run evaluates the weights p. The prediction made at step t (after
// reading t) for reading t+1+j is a validation prediction when t+1 ≥ n0,
// the first validation reading, and t+1+j < n.
func (ev *evaluator) run(ctx context.Context, p *graphParams) (*evalResult, error) {
	res := &evalResult{absErr: make([][]float64, len(ev.series))}
	rows := make([][]float32, len(ev.series))
	for i, s := range ev.series {
		rows[i] = s.x[:(s.n-1)*p.inputs] // the last reading predicts nothing checkable
	}
	K := p.outputs
	var sq float64
	var n int
	err := forwardRows(ctx, ev.graph, p, rows, func(r, pos int, pred []float32) {
		s := ev.series[r]
		if pos+1 < s.n0 {
			return
		}
		for j := range K {
			y, ok := s.target(pos, j)
			if !ok {
				break
			}
			d := float64(pred[j]) - float64(y)
			sq += d * d
			n++
		}
		res.absErr[r] = append(res.absErr[r], math.Abs(s.scaler.Unscale(0, float64(pred[0]))-s.values[pos+1]))
	})
	if err != nil {
		return nil, err
	}
	res.mse = sq / float64(n)
	return res, nil
}

// forwardRows runs lg (which must have len(rows) batch rows) over the input
// sequences rows[r], each a run of n_r input vectors of width p.inputs, from
// a zero state, segment after segment with the state carried across, and
// calls visit for every real step with the step's Horizon predictions. It
// checks ctx between segments.
// Rows shorter than the longest are padded with zero inputs after their
// end; padding is never visited.
func forwardRows(ctx context.Context, lg *lstmGraph, p *graphParams, rows [][]float32, visit func(r, pos int, pred []float32)) error {
	if len(rows) != lg.B {
		panic(fmt.Sprintf("model: %d rows for a graph of batch %d", len(rows), lg.B))
	}
	W, K, B, T := p.inputs, p.outputs, lg.B, lg.T
	longest := 0
	for _, x := range rows {
		if len(x)%W != 0 {
			panic(fmt.Sprintf("model: input of length %d is not a multiple of width %d", len(x), W))
		}
		longest = max(longest, len(x)/W)
	}
	clear(f32(lg.mask))
	lg.setInvCount(0)
	lg.resetState()
	for start := 0; start < longest; start += T {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("model: validation cancelled: %w", err)
		}
		for t := range T {
			xd := f32(lg.x[t])
			pos := start + t
			for r, x := range rows {
				row := xd[r*W : (r+1)*W]
				if pos < len(x)/W {
					copy(row, x[pos*W:(pos+1)*W])
				} else {
					clear(row)
				}
			}
		}
		if err := lg.run(p); err != nil {
			return err
		}
		pred := lg.predictions()
		for t := range T {
			pos := start + t
			for r, x := range rows {
				if pos < len(x)/W {
					i := (t*B + r) * K
					visit(r, pos, pred[i:i+K])
				}
			}
		}
		lg.carryState()
	}
	return nil
}

// errorStats summarises absolute errors: population standard deviation,
// quantiles by quantileSorted (Hyndman & Fan type 7). No errors give N = 0
// and NaN figures.
func errorStats(errs []float64) ErrorStats {
	if len(errs) == 0 {
		nan := math.NaN()
		return ErrorStats{Mean: nan, Std: nan, P50: nan, P90: nan, P95: nan, P99: nan, Max: nan}
	}
	s := slices.Clone(errs)
	slices.Sort(s)
	var sum float64
	for _, e := range s {
		sum += e
	}
	mean := sum / float64(len(s))
	var ss float64
	for _, e := range s {
		ss += (e - mean) * (e - mean)
	}
	return ErrorStats{
		N:    len(s),
		Mean: mean,
		Std:  math.Sqrt(ss / float64(len(s))),
		P50:  quantileSorted(s, 0.5),
		P90:  quantileSorted(s, 0.9),
		P95:  quantileSorted(s, 0.95),
		P99:  quantileSorted(s, 0.99),
		Max:  s[len(s)-1],
	}
}

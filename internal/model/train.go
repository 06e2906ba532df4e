package model

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"go.uber.org/zap"
)

// ErrDiverged is returned, wrapped with the epoch and segment, when the
// training loss or the gradient becomes NaN or infinite, or the loss
// exceeds divergeFactor times the loss of always predicting the median.
// The caller should keep its previous model.
var ErrDiverged = errors.New("model: training diverged")

// divergeFactor: a training loss above divergeFactor·(1 + L₀), with L₀ the
// mean squared scaled target (the loss of predicting the training median,
// 0 in scaled units), counts as an explosion. A working network is below
// L₀ after a few batches; a loss 10⁴ times worse only arises from runaway
// weights.
const divergeFactor = 1e4

// EpochStats describes one finished epoch, for progress reporting and the
// loss curve.
type EpochStats struct {
	Epoch     int           `json:"epoch"`      // 1-based
	Epochs    int           `json:"epochs"`     // the configured maximum
	TrainLoss float64       `json:"train_loss"` // mean squared error on the training part, scaled units (with dropout when on)
	ValLoss   float64       `json:"val_loss"`   // mean squared error on the validation part, scaled units (NaN without validation)
	GradNorm  float64       `json:"grad_norm"`  // mean global gradient norm before clipping
	Clipped   float64       `json:"clipped"`    // fraction of updates whose gradient was clipped
	Best      bool          `json:"best"`       // whether this epoch has the best validation loss so far
	Duration  time.Duration `json:"duration"`   // wall time of the epoch, validation included
}

// ErrorStats summarises absolute prediction errors |y − ŷ| in the units of
// the series: count, mean, population standard deviation and quantiles by
// linear interpolation between closest ranks (Hyndman & Fan type 7, like
// FitScaler's). With N = 0 the figures are NaN.
type ErrorStats struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// SeriesInfo describes how one series entered training.
type SeriesInfo struct {
	ID     string `json:"id"`
	Points int    `json:"points"`
	// ValStart is the index of the first validation reading: readings
	// [0, ValStart) trained the network and fitted the scaler, predictions
	// of readings [ValStart, Points) are the validation errors.
	ValStart int       `json:"val_start"`
	Start    time.Time `json:"start"` // first reading time (zero without times)
	End      time.Time `json:"end"`   // last reading time
	// ValErrors are the absolute errors of the next-reading prediction on
	// the validation part, in the series' units.
	ValErrors ErrorStats `json:"val_errors"`
}

// TrainReport is what a training run tells about the network it returns.
// Figures that do not exist (validation without a validation split) are
// NaN, which encoding/json refuses: encode a report without validation by
// other means or replace them first.
type TrainReport struct {
	Config   TrainConfig  `json:"config"`
	Features Features     `json:"features"`
	Series   []SeriesInfo `json:"series"`
	// DataFrom and DataTo span the reading times of all series (zero
	// without times).
	DataFrom time.Time `json:"data_from"`
	DataTo   time.Time `json:"data_to"`
	// Epochs is the number of epochs run; BestEpoch (1-based) the one whose
	// weights are returned: the lowest validation loss, or the last epoch
	// without validation.
	Epochs    int `json:"epochs"`
	BestEpoch int `json:"best_epoch"`
	// EarlyStopped tells whether patience ran out before Config.Epochs.
	EarlyStopped bool `json:"early_stopped"`
	// LossCurve has one entry per epoch run.
	LossCurve []EpochStats `json:"loss_curve"`
	// ValLoss is the validation mean squared error, in scaled units, of the
	// returned network over all series and all Horizon outputs: the
	// quantity early stopping minimises. NaN without validation.
	ValLoss float64 `json:"val_loss"`
	// ValErrors are the absolute errors of the next-reading prediction
	// (output 0) on the validation part of all series together, in the
	// series' units (for a group of series in different units prefer the
	// per-series figures in Series).
	ValErrors ErrorStats `json:"val_errors"`
	// Duration is the wall time of the run.
	Duration time.Duration `json:"duration"`
}

// ScalerSet holds the scalers a training run fits, each on the training
// part of its data only.
type ScalerSet struct {
	// BySeries holds one Scaler per training series, keyed by Series.ID.
	BySeries map[string]*Scaler
	// Fallback is fitted on the training parts of all series pooled: the
	// scaler for a series the model was not trained on. For one series it
	// equals that series' scaler.
	Fallback *Scaler
}

// Train trains a network on data and returns it with the scalers it fitted
// and a report.
//
// One series gives a model of that series; several give a group model: one
// shared network trained on all of them side by side, each series scaled
// by its own Scaler (fitted on its training part), so that series of
// different levels and units share the dynamics the network learns while
// their predictions are unscaled with their own figures. The serving side
// looks the Scaler up by series id.
//
// Procedure. Each series is split chronologically: the last ValFraction of
// its readings is the validation part. The training parts are cut into
// about Batch contiguous chunks (see trainChunks), one per batch row, and
// every epoch walks them in segments of SeqLen steps: truncated
// back-propagation through time (Williams & Peng 1990, "An efficient
// gradient-based algorithm for on-line training of recurrent network
// trajectories", Neural Computation 2(4)), where the state leaving one
// segment is fed, as a value, into the next (no gradient crosses the
// boundary), so the network learns to run one long sequence as the consumer
// does. The loss is the mean squared error of the scaled next Horizon
// readings. Each segment's gradient is clipped to a global norm of ClipNorm
// (Pascanu et al. 2013) and applied by Adam (Kingma & Ba 2015); see adam
// and clipGlobalNorm.
//
// After each epoch the network runs over every series from its first
// reading with a zero state, exactly as the consumer would (batch row =
// series), and its error on the validation part is the validation loss.
// Training stops after Epochs, or when the validation loss has not
// improved for Patience epochs; the weights of the best epoch are
// returned.
//
// Train checks ctx between segments (of training and of validation) and
// returns its error when cancelled.
// A NaN or exploding loss returns an error wrapping ErrDiverged; unusable
// data one wrapping ErrBadData; invalid settings Validate's error. progress,
// if not nil, is called after every epoch. logger may be nil.
func Train(ctx context.Context, cfg TrainConfig, data []Series, logger *zap.Logger, progress func(EpochStats)) (*Network, ScalerSet, TrainReport, error) {
	began := time.Now()
	if logger == nil {
		logger = zap.NewNop()
	}
	var report TrainReport
	if err := cfg.Validate(); err != nil {
		return nil, ScalerSet{}, report, err
	}
	if len(data) == 0 {
		return nil, ScalerSet{}, report, fmt.Errorf("%w: no series", ErrBadData)
	}
	feat := cfg.Features()
	report.Config, report.Features = cfg, feat
	report.Config.Hidden = slices.Clone(cfg.Hidden)
	report.Config.Fields = slices.Clone(cfg.Fields)
	series := make([]*preparedSeries, len(data))
	scalers := ScalerSet{BySeries: make(map[string]*Scaler, len(data))}
	for i, s := range data {
		if _, dup := scalers.BySeries[s.ID]; dup {
			return nil, ScalerSet{}, report, fmt.Errorf("%w: series id %q appears twice", ErrBadData, s.ID)
		}
		p, err := prepareSeries(s, feat, cfg.ValFraction, cfg.Horizon)
		if err != nil {
			return nil, ScalerSet{}, report, err
		}
		series[i] = p
		scalers.BySeries[s.ID] = p.scaler
	}
	fallback, err := fitFallback(data, series, feat)
	if err != nil {
		return nil, ScalerSet{}, report, err
	}
	scalers.Fallback = fallback

	tr := newTrainer(cfg, series)
	params, chunks := tr.params, tr.chunks
	hasVal := cfg.ValFraction > 0
	var ev *evaluator
	if hasVal {
		ev = newEvaluator(params, series, cfg.SeqLen)
	}
	logger.Info("training",
		zap.Int("series", len(series)), zap.Ints("hidden", cfg.Hidden), zap.Int("inputs", feat.Width()),
		zap.Int("outputs", cfg.Horizon), zap.Int("rows", len(chunks)), zap.Int("seq_len", cfg.SeqLen),
		zap.Int("segments_per_epoch", tr.segs), zap.Int("epochs", cfg.Epochs))

	best := math.Inf(1)
	var bestParams *graphParams
	var bestEval *evalResult
	sinceBest := 0
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		t0 := time.Now()
		st, err := tr.epoch(ctx, epoch)
		if err != nil {
			return nil, ScalerSet{}, report, err
		}
		st.Epochs = cfg.Epochs
		st.ValLoss = math.NaN()
		if hasVal {
			res, err := ev.run(ctx, params)
			if err != nil {
				return nil, ScalerSet{}, report, err
			}
			st.ValLoss = res.mse
			if math.IsNaN(res.mse) || math.IsInf(res.mse, 0) {
				return nil, ScalerSet{}, report, fmt.Errorf("epoch %d: validation loss %g: %w", epoch, res.mse, ErrDiverged)
			}
			if res.mse < best {
				best, bestParams, bestEval, sinceBest = res.mse, params.clone(), res, 0
				st.Best = true
				report.BestEpoch = epoch
			} else {
				sinceBest++
			}
		} else {
			st.Best = true
			report.BestEpoch = epoch
		}
		st.Duration = time.Since(t0)
		report.LossCurve = append(report.LossCurve, st)
		report.Epochs = epoch
		logger.Info("epoch",
			zap.Int("epoch", epoch), zap.Float64("train_loss", st.TrainLoss), zap.Float64("val_loss", st.ValLoss),
			zap.Float64("grad_norm", st.GradNorm), zap.Bool("best", st.Best), zap.Duration("duration", st.Duration))
		if progress != nil {
			progress(st)
		}
		if hasVal && cfg.Patience > 0 && sinceBest >= cfg.Patience && epoch < cfg.Epochs {
			report.EarlyStopped = true
			break
		}
	}
	if bestParams != nil {
		params = bestParams
	}

	report.ValLoss = math.NaN()
	for i, p := range series {
		info := SeriesInfo{ID: p.id, Points: p.n, ValStart: p.n0, Start: p.start, End: p.end}
		if bestEval != nil {
			info.ValErrors = errorStats(bestEval.absErr[i])
		}
		report.Series = append(report.Series, info)
		if !p.start.IsZero() && (report.DataFrom.IsZero() || p.start.Before(report.DataFrom)) {
			report.DataFrom = p.start
		}
		if p.end.After(report.DataTo) {
			report.DataTo = p.end
		}
	}
	if bestEval != nil {
		report.ValLoss = bestEval.mse
		report.ValErrors = errorStats(slices.Concat(bestEval.absErr...))
	}
	report.Duration = time.Since(began)
	logger.Info("trained", zap.Int("epochs", report.Epochs), zap.Int("best_epoch", report.BestEpoch),
		zap.Float64("val_loss", report.ValLoss), zap.Float64("val_mae", report.ValErrors.Mean), zap.Duration("duration", report.Duration))
	return params.network(), scalers, report, nil
}

// newTrainer draws the initial weights from cfg.Seed and builds the
// training graph for the prepared series.
func newTrainer(cfg TrainConfig, series []*preparedSeries) *trainer {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed_1157))
	params := initParams(rng, cfg.Features().Width(), cfg.Hidden, cfg.Horizon)
	chunks, chunkLen := trainChunks(series, cfg.Batch)
	tr := &trainer{
		cfg:    cfg,
		series: series,
		chunks: chunks,
		segs:   (chunkLen + cfg.SeqLen - 1) / cfg.SeqLen,
		params: params,
		opt:    newAdam(cfg.LR, params.data),
		rng:    rng,
		graph:  newLSTMGraph(params, len(chunks), cfg.SeqLen, true, cfg.InputDropout > 0, cfg.Dropout > 0 && len(cfg.Hidden) > 1),
	}
	tr.baseline = tr.baselineLoss()
	return tr
}

// initParams draws the initial weights: every LSTM weight and bias uniform
// in ±1/√H (the initialisation of torch.nn.LSTM), then the forget-gate
// biases raised by 1 so that the cell remembers by default (Gers et al.
// 2000; Jozefowicz et al. 2015); the head uniform in ±1/√In (torch.nn.Linear).
func initParams(rng *rand.Rand, inputs int, hidden []int, outputs int) *graphParams {
	p := newGraphParams(inputs, hidden, outputs)
	uniform := func(w []float32, bound float64) {
		for i := range w {
			w[i] = float32(bound * (2*rng.Float64() - 1))
		}
	}
	for l, H := range hidden {
		bound := 1 / math.Sqrt(float64(H))
		uniform(p.data[2*l], bound)
		uniform(p.data[2*l+1], bound)
		for j := H; j < 2*H; j++ {
			p.data[2*l+1][j]++
		}
	}
	k := 2 * len(hidden)
	bound := 1 / math.Sqrt(float64(hidden[len(hidden)-1]))
	uniform(p.data[k], bound)
	uniform(p.data[k+1], bound)
	return p
}

// fitFallback fits one Scaler on the training parts of all series pooled.
func fitFallback(data []Series, series []*preparedSeries, feat Features) (*Scaler, error) {
	channels := make([][]float64, feat.Channels())
	for i, s := range data {
		n0 := series[i].n0
		channels[0] = append(channels[0], s.Values[:n0]...)
		for k, name := range feat.Fields {
			channels[1+k] = append(channels[1+k], s.Fields[name][:n0]...)
		}
	}
	sc, err := FitScaler(channels)
	if err != nil {
		return nil, fmt.Errorf("%w: fallback scaler: %w", ErrBadData, err)
	}
	return sc, nil
}

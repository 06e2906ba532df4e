package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Model is a trained forecaster with everything the consumer needs to run
// it: the network, how readings become its input, how each series is
// scaled, the threshold rule it wants and how it was trained. It is what an
// artifact file holds (see Save and Load).
//
// A group model is trained on several series: they share one Network and
// Features, and each has its own Scaler in Scalers, keyed by series id. A
// series the model was not trained on is scaled with Fallback, which the
// trainer fits on the pooled training data of all series; Fallback is
// required, so that a group model can serve new sensors from the start (for
// a single-series model it is that series' scaler). ScalerFor picks the
// right one.
//
// A Model returned by Load or ReadFile is never modified by this package
// and, as long as callers do not modify it either, is safe for concurrent
// use by many goroutines; every field is treated as read-only.
type Model struct {
	// Name names the model, e.g. the series group it serves. Not empty.
	Name string
	// Version orders the artifacts of one Name: a positive integer that the
	// trainer raises with every artifact it writes (the previous version
	// plus one; a trainer without a record of the previous version may use
	// the creation time in Unix seconds, which also only grows). Consumers
	// hot-swap to a model with a larger Version, see Newer.
	Version int64
	// Network holds the weights. Its input width must be Features.Width().
	// Output 0 is the next value in scaled units.
	Network *Network
	// Features describes the input vector.
	Features Features
	// Scalers holds one scaler per training series, keyed by series id;
	// each has Features.Channels() channels. May be empty.
	Scalers map[string]*Scaler
	// Fallback scales series missing from Scalers. Required.
	Fallback *Scaler
	// Threshold is the dynamic threshold rule the model wants.
	Threshold ThresholdRule
	// Training records how the model was trained.
	Training TrainingInfo
}

// ThresholdRule is the dynamic threshold (package dynthreshold) the model
// wants, and the statistics the threshold starts from. The zero value asks
// for the consumer's default rule and carries no statistics.
type ThresholdRule struct {
	// Rule names the rule, e.g. "telemanom" or "percentile"; empty for
	// the consumer's default.
	Rule string
	// Params are the rule's settings as text, stored verbatim: by
	// convention the keys are dynthreshold's flag names without the
	// "threshold." prefix ("percentile": "99.5", "batch": "70"), so that a
	// consumer applies them with flag.FlagSet.Set over its own defaults.
	Params map[string]string
	// PriorAll summarises the smoothed validation errors of all series
	// pooled, the prior for a series without an entry in Priors; Priors
	// holds one per training series. They are what the threshold uses
	// until it has seen enough live errors. Zero when the trainer did not
	// compute them.
	PriorAll Prior
	Priors   map[string]Prior
}

// Prior summarises a model's smoothed validation errors for the threshold.
// Its fields are those of dynthreshold.Prior, in the same order, so that
// one converts to the other with a type conversion; this package does not
// import dynthreshold. The figures are finite and non-negative.
type Prior struct {
	Count int64   // number of validation errors summarised
	Mean  float64 // mean of the smoothed validation errors
	Std   float64 // population standard deviation
	P99   float64 // 99th percentile
	P999  float64 // 99.9th percentile
	Max   float64 // maximum
}

// PriorFor returns the threshold prior of series id: its own if the model
// has one, else Threshold.PriorAll. The boolean reports whether the series
// had its own.
func (m *Model) PriorFor(id string) (Prior, bool) {
	if p, ok := m.Threshold.Priors[id]; ok {
		return p, true
	}
	return m.Threshold.PriorAll, false
}

func validatePrior(p Prior) error {
	for _, v := range []float64{p.Mean, p.Std, p.P99, p.P999, p.Max} {
		if !(v >= 0) || math.IsInf(v, 0) {
			return fmt.Errorf("prior %+v: figures must be finite and non-negative", p)
		}
	}
	if p.Count < 0 {
		return fmt.Errorf("prior count %d is negative", p.Count)
	}
	return nil
}

// TrainingInfo is the training metadata an artifact keeps. The trainer fills
// it from its report; the threshold package may use Errors and ErrorsAll to
// start thresholds before it has seen live errors.
//
// Times are stored with microsecond precision, in UTC.
type TrainingInfo struct {
	// DataFrom and DataTo are the event times of the first and the last
	// training reading. Zero when unknown.
	DataFrom, DataTo time.Time
	// Series lists the training series ids, sorted, without duplicates.
	Series []string
	// Epochs is the number of epochs run; BestEpoch (1-based, 0 when
	// unknown) the one whose weights the model has.
	Epochs, BestEpoch int
	// Loss is the loss curve, one entry per epoch run.
	Loss []EpochLoss
	// ErrorsAll summarises the validation errors of all series pooled, in
	// original units: the cold-start statistics for series without an
	// entry in Errors (those scaled with the Fallback scaler).
	ErrorsAll ErrorStats
	// Errors summarises the validation errors per series id, each in the
	// series' original units.
	Errors map[string]ErrorStats
	// Config is the training configuration used, as a JSON document
	// (written by the trainer, opaque to this package); nil when unknown.
	Config json.RawMessage
	// Created is when the model was made.
	Created time.Time
	// TrainerVersion identifies the program that trained the model.
	TrainerVersion string
}

// FromTraining assembles a model from the results of Train: the network,
// the scalers and the report, under the given name and version (see
// Model.Version), stamped with trainer and the current time. The threshold
// rule is left at the consumer's default; set m.Threshold before saving to
// ask for another. The training configuration is kept as JSON.
//
// The model shares net and the scalers with the caller, who must not modify
// them afterwards. It fails if the parts do not form a valid model (see
// Model.Validate).
func FromTraining(name string, version int64, net *Network, sc ScalerSet, rep TrainReport, trainer string) (*Model, error) {
	cfg, err := json.Marshal(rep.Config)
	if err != nil {
		return nil, fmt.Errorf("model from training: config: %w", err)
	}
	m := &Model{
		Name:     name,
		Version:  version,
		Network:  net,
		Features: rep.Features,
		Scalers:  sc.BySeries,
		Fallback: sc.Fallback,
		Training: TrainingInfo{
			DataFrom:       rep.DataFrom.UTC(),
			DataTo:         rep.DataTo.UTC(),
			Epochs:         rep.Epochs,
			BestEpoch:      rep.BestEpoch,
			ErrorsAll:      rep.ValErrors,
			Config:         cfg,
			Created:        time.Now().UTC().Truncate(time.Microsecond),
			TrainerVersion: trainer,
		},
	}
	if rep.DataFrom.IsZero() {
		m.Training.DataFrom = time.Time{}
	}
	if rep.DataTo.IsZero() {
		m.Training.DataTo = time.Time{}
	}
	for _, e := range rep.LossCurve {
		m.Training.Loss = append(m.Training.Loss, EpochLoss{Train: e.TrainLoss, Validation: e.ValLoss})
	}
	for _, s := range rep.Series {
		m.Training.Series = append(m.Training.Series, s.ID)
		if m.Training.Errors == nil {
			m.Training.Errors = make(map[string]ErrorStats, len(rep.Series))
		}
		m.Training.Errors[s.ID] = s.ValErrors
	}
	slices.Sort(m.Training.Series)
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("model from training: %w", err)
	}
	return m, nil
}

// EpochLoss is the loss of one epoch: the mean squared error in scaled units
// on the training and on the validation data. Validation is NaN when the
// run had no validation data.
type EpochLoss struct {
	Train, Validation float64
}

// ScalerFor returns the scaler of series id: its own if the model was
// trained on it, else Fallback. It does not allocate.
func (m *Model) ScalerFor(id string) *Scaler {
	if sc, ok := m.Scalers[id]; ok {
		return sc
	}
	return m.Fallback
}

// ErrorsFor returns the validation error statistics of series id: its own
// if the model was trained on it, else ErrorsAll. The boolean reports
// whether the series had its own.
func (m *Model) ErrorsFor(id string) (ErrorStats, bool) {
	if st, ok := m.Training.Errors[id]; ok {
		return st, true
	}
	return m.Training.ErrorsAll, false
}

// Newer reports whether m should replace cur: same name and a larger
// version. A nil cur is replaced by any model.
func (m *Model) Newer(cur *Model) bool {
	return cur == nil || (m.Name == cur.Name && m.Version > cur.Version)
}

// String returns "name@vN".
func (m *Model) String() string { return fmt.Sprintf("%s@v%d", m.Name, m.Version) }

// Validate reports whether m can be saved and served: a name, a positive
// version, valid features, a network whose weight lengths match its
// declared shape and whose input width is the feature width, finite
// weights, a fallback scaler and per-series scalers with one finite center
// and one finite positive spread per channel, sorted and distinct training
// series, finite non-negative threshold priors, and a valid JSON config.
// Save calls it; Load fails with
// ErrCorrupt on an artifact that does not pass it.
func (m *Model) Validate() error {
	if m == nil {
		return errors.New("nil model")
	}
	if m.Name == "" {
		return errors.New("empty model name")
	}
	if m.Version <= 0 {
		return fmt.Errorf("version %d is not positive", m.Version)
	}
	if err := m.Features.Validate(); err != nil {
		return err
	}
	if m.Network == nil {
		return errors.New("no network")
	}
	if err := validateNetwork(m.Network); err != nil {
		return err
	}
	if got, want := m.Network.Inputs(), m.Features.Width(); got != want {
		return fmt.Errorf("network input width %d != feature width %d", got, want)
	}
	ch := m.Features.Channels()
	if m.Fallback == nil {
		return errors.New("no fallback scaler")
	}
	if err := validateScaler(m.Fallback, ch); err != nil {
		return fmt.Errorf("fallback scaler: %w", err)
	}
	for id, sc := range m.Scalers {
		if sc == nil {
			return fmt.Errorf("scaler of series %q is nil", id)
		}
		if err := validateScaler(sc, ch); err != nil {
			return fmt.Errorf("scaler of series %q: %w", id, err)
		}
	}
	if err := validatePrior(m.Threshold.PriorAll); err != nil {
		return fmt.Errorf("threshold: %w", err)
	}
	for id, p := range m.Threshold.Priors {
		if err := validatePrior(p); err != nil {
			return fmt.Errorf("threshold of series %q: %w", id, err)
		}
	}
	for i := 1; i < len(m.Training.Series); i++ {
		if m.Training.Series[i-1] >= m.Training.Series[i] {
			return fmt.Errorf("training series not sorted and distinct at %q", m.Training.Series[i])
		}
	}
	if t := &m.Training; t.Epochs < 0 || t.BestEpoch < 0 || t.BestEpoch > t.Epochs {
		return fmt.Errorf("best epoch %d of %d", t.BestEpoch, t.Epochs)
	}
	if len(m.Training.Config) > 0 && !json.Valid(m.Training.Config) {
		return errors.New("training config is not valid JSON")
	}
	return nil
}

// maxDim bounds every layer size so that shape arithmetic cannot overflow.
const maxDim = 1 << 20

// validateNetwork is the error-returning twin of Network.check: it also
// rejects non-positive sizes and non-finite weights.
func validateNetwork(n *Network) error {
	if len(n.Layers) == 0 {
		return errors.New("network has no layers")
	}
	in := n.Layers[0].In
	for l, ly := range n.Layers {
		if ly.In <= 0 || ly.In > maxDim || ly.Hidden <= 0 || ly.Hidden > maxDim {
			return fmt.Errorf("layer %d: bad shape %d→%d", l, ly.In, ly.Hidden)
		}
		if ly.In != in {
			return fmt.Errorf("layer %d: input %d != previous hidden %d", l, ly.In, in)
		}
		if want := 4 * ly.Hidden * (ly.In + ly.Hidden); len(ly.W) != want {
			return fmt.Errorf("layer %d: %d weights, shape %d→%d needs %d", l, len(ly.W), ly.In, ly.Hidden, want)
		}
		if len(ly.B) != 4*ly.Hidden {
			return fmt.Errorf("layer %d: %d biases, want %d", l, len(ly.B), 4*ly.Hidden)
		}
		if i := nonFinite(ly.W); i >= 0 {
			return fmt.Errorf("layer %d: weight %d is %v", l, i, ly.W[i])
		}
		if i := nonFinite(ly.B); i >= 0 {
			return fmt.Errorf("layer %d: bias %d is %v", l, i, ly.B[i])
		}
		in = ly.Hidden
	}
	h := n.Head
	if h.In != in || h.Out <= 0 || h.Out > maxDim {
		return fmt.Errorf("head: bad shape %d→%d after hidden %d", h.In, h.Out, in)
	}
	if len(h.W) != h.In*h.Out || len(h.B) != h.Out {
		return fmt.Errorf("head: %d weights and %d biases, shape %d→%d needs %d and %d", len(h.W), len(h.B), h.In, h.Out, h.In*h.Out, h.Out)
	}
	if i := nonFinite(h.W); i >= 0 {
		return fmt.Errorf("head: weight %d is %v", i, h.W[i])
	}
	if i := nonFinite(h.B); i >= 0 {
		return fmt.Errorf("head: bias %d is %v", i, h.B[i])
	}
	return nil
}

// nonFinite returns the index of the first NaN or infinite value, or -1.
func nonFinite(xs []float32) int {
	for i, x := range xs {
		if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
			return i
		}
	}
	return -1
}

func validateScaler(sc *Scaler, channels int) error {
	if len(sc.Center) != channels || len(sc.Spread) != channels {
		return fmt.Errorf("%d centers and %d spreads for %d channels", len(sc.Center), len(sc.Spread), channels)
	}
	for k := range channels {
		c, s := sc.Center[k], sc.Spread[k]
		if math.IsNaN(c) || math.IsInf(c, 0) || !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("channel %d: center %v, spread %v", k, c, s)
		}
	}
	return nil
}

// sortedKeys returns the keys of m in increasing order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Predictor runs a model over the readings of one series: it encodes each
// reading with the series' scaler, advances the series' recurrent state by
// one step and returns the forecast in the series' original units. The
// consumer keeps one Predictor per series; on a hot swap it starts a new one
// from the new model (the state of one network means nothing to another).
//
// Predict does not allocate for networks whose widest layer has at most
// 680 units (see Network.Step). A Predictor is not safe for concurrent use;
// many Predictors may share one Model.
type Predictor struct {
	m     *Model
	sc    *Scaler
	state *State
	x, y  []float32
}

// NewPredictor returns a Predictor for series id, with a zero state and the
// series' own scaler, or Fallback for a series the model was not trained
// on.
func (m *Model) NewPredictor(id string) *Predictor {
	return &Predictor{
		m:     m,
		sc:    m.ScalerFor(id),
		state: m.Network.NewState(),
		x:     make([]float32, m.Features.Width()),
		y:     make([]float32, m.Network.Outputs()),
	}
}

// Predict feeds the reading (t, value, fields) and returns the forecast of
// the series' next value, in original units. Fields the model does not use
// are ignored and missing ones enter as the training median (see
// Features.Encode).
//
// A reading whose encoded input is not finite (a NaN or infinite value or
// field, or one so large that scaling overflows float32) is not fed: the
// state is left as it was, so that one bad reading cannot poison every later
// forecast, and Predict returns NaN.
func (p *Predictor) Predict(t time.Time, value float64, fields map[string]float64) float64 {
	p.m.Features.Encode(p.x, p.sc, t, value, fields)
	if nonFinite(p.x) >= 0 {
		return math.NaN()
	}
	p.m.Network.Step(p.state, p.x, p.y)
	return p.sc.Unscale(0, float64(p.y[0]))
}

// Forecast returns output j of the last step in original units: the
// forecast of the value j+1 readings ahead (0 ≤ j < Network.Outputs(); a
// model trained with a horizon of k has k outputs). Before the first step
// it returns the series' center.
func (p *Predictor) Forecast(j int) float64 { return p.sc.Unscale(0, float64(p.y[j])) }

// State returns the series' recurrent state, which Predict updates in place;
// the consumer may checkpoint it (copy it) and restore it with CopyFrom.
func (p *Predictor) State() *State { return p.state }

// Reset zeroes the state and the last forecast, as for a new series.
func (p *Predictor) Reset() {
	p.state.Reset()
	clear(p.y)
}

// Model returns the model p runs.
func (p *Predictor) Model() *Model { return p.m }

// Scaler returns the scaler p uses: the series' own or the fallback.
func (p *Predictor) Scaler() *Scaler { return p.sc }

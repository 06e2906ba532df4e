package report

import (
	"time"
)

// Run is one run of the trainer as the report shows it. The trainer fills
// it in; the report only reads it (it never modifies a Run, so one Run may
// be rendered by several goroutines at once as long as nobody writes it).
//
// All times are shown in UTC. Slices are shown in the order given: the
// trainer decides the order of models, series, spans and notes.
type Run struct {
	// Title heads the report, e.g. "Vigil nightly training". Empty means
	// "Vigil training run".
	Title string
	// Started and Finished are the wall-clock times of the run; the report
	// shows them and their difference. Zero values are shown as "—".
	Started, Finished time.Time
	// Source says where the data came from, e.g. "kafka topic sensors
	// (2026-10-28 to 2026-11-27)" or "files testdata/nab/data".
	Source string
	// Settings are shown as a two-column table (architecture, epochs,
	// window, ...), in the order given.
	Settings []KV
	// Models are the models trained (or attempted) in this run.
	Models []Model
	// Skipped are series that were not trained, with the reason.
	Skipped []Skipped
	// Notes are warnings worth a human's attention; they are shown near the
	// top of the report.
	Notes []string
}

// KV is one row of a key/value table.
type KV struct {
	Key, Value string
}

// Decisions the trainer takes about a challenger. Model.Decision may hold
// other text; these five get their own badge colour.
const (
	DecisionPromoted     = "promoted"
	DecisionKept         = "kept champion"
	DecisionForced       = "forced"
	DecisionDryRun       = "not published (dry run)"
	DecisionFailed       = "failed"
	decisionUnknownLabel = "no decision"
)

// Model is one trained model: a network per series or per group of series.
type Model struct {
	// Name is the model's name in the model store.
	Name string
	// Version is the challenger's version number (0 when not published).
	Version int64
	// Decision is what the trainer did with the challenger: one of the
	// Decision constants, or other short text.
	Decision string
	// Reason is one sentence with the figures behind Decision, e.g.
	// "challenger val MAE 0.21 vs champion 0.25; false alarms 0.4/day vs
	// 0.6/day".
	Reason string
	// Champion and Challenger are the two models' figures on the same
	// validation data; nil when absent (no champion yet, training failed).
	Champion, Challenger *Metrics
	// Loss has one entry per epoch run, in order.
	Loss []Epoch
	// BestEpoch is the 1-based epoch whose weights were kept; 0 if unknown.
	BestEpoch int
	// Duration is the wall time spent training this model.
	Duration time.Duration
	// Series are the series the model was trained on.
	Series []Series
}

// Metrics are one model's figures on the validation slice.
type Metrics struct {
	// ValMAE and ValRMSE are the validation mean absolute and root mean
	// squared errors of the next-reading prediction, in the series' units
	// (for a group of series, the aggregate the trainer compares). NaN
	// means not measured.
	ValMAE, ValRMSE float64
	// FalseAlarmsPerDay is the number of alarms per day of validation data
	// the detector would have raised on data taken to be normal. NaN means
	// not measured.
	FalseAlarmsPerDay float64
	// Flagged is the number of validation readings the detector would have
	// flagged.
	Flagged int
}

// Epoch is one epoch of training.
type Epoch struct {
	// Train and Validation are the mean squared errors on the training and
	// validation parts, in the model's scaled units. Validation is NaN when
	// the run had no validation split. Non-positive or non-finite values
	// are left out of the plot.
	Train, Validation float64
}

// Series is one series of a model, with its validation slice.
//
// The validation slice is given one entry per reading: Times, Actual,
// Predicted, SmoothedError, Threshold and Flagged are parallel slices of
// the same length, in increasing time order. A slice that is empty is
// treated as absent (the plot leaves it out); a slice of another non-zero
// length is treated as absent too and the report says so. NaN values are
// gaps: the lines break there.
type Series struct {
	// ID is the series identifier (sensor id, or group member).
	ID string
	// Readings is the number of readings read for this series; Used the
	// number used for training and validation after exclusions.
	Readings, Used int
	// From and To span the readings' event times.
	From, To time.Time
	// Excluded are the spans left out of training, with why.
	Excluded []Span
	// ValMAE is the validation mean absolute error of the next-reading
	// prediction, in the series' units; NaN when not measured.
	ValMAE float64

	// Times are the validation readings' event times.
	Times []time.Time
	// Actual and Predicted are the readings and the model's predictions of
	// them, in the series' units.
	Actual, Predicted []float64
	// SmoothedError and Threshold are the detector's smoothed prediction
	// error and its dynamic threshold, in the detector's units (which may
	// differ from the series' units).
	SmoothedError, Threshold []float64
	// Flagged tells which readings the dynamic threshold would have
	// flagged.
	Flagged []bool
}

// Span is a time span left out of training.
type Span struct {
	// From and To bound the span (inclusive).
	From, To time.Time
	// Why says why, e.g. "anomaly episode 3f2a…", "label window",
	// "dead-lettered".
	Why string
	// Readings is the number of readings in the span.
	Readings int
}

// Skipped is a series the run did not train, with the reason (too little
// data, all readings excluded, ...).
type Skipped struct {
	ID, Reason string
}

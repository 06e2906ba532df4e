// Package report renders a run of the trainer as one self-contained HTML
// file that ops and analysts open in a browser, offline: inline CSS, no
// scripts, no fonts or images fetched, every figure a PNG drawn with
// gonum/plot and embedded as a data: URL.
//
// # Data flow
//
//	trainer (cmd/trainer) ──fills──▶ report.Run ──WriteFile──▶ report.html ──▶ ops, analysts
//
// The trainer replays normal data, trains a forecaster per series or group,
// compares the challenger with the champion and promotes it or not. While
// it does so it fills a Run with plain data: settings, and per model the
// decision with its reason, the champion's and challenger's figures, the
// loss per epoch and, per series, the data used, the spans excluded and the
// validation slice (actual, predicted, smoothed error, threshold, flags).
// WriteFile renders it; the package never reads Kafka, the model store or
// a clock, so the same Run gives the same HTML (a golden test is possible;
// PNG bytes may differ between platforms).
//
// # What the report shows
//
// A header with the run's time, duration and source and summary cards
// (models by decision, series trained and skipped, readings used, readings
// flagged); the notes; a table of models; a table of all series (readings,
// used, excluded, data range, validation MAE, flagged, link to the figure);
// skipped series; settings; then per model its decision badge and reason,
// champion versus challenger figures, the loss curve (logarithmic when the
// losses span more than a factor of 30, best epoch marked), its excluded
// spans and its series figures. A series figure has two panels on one time
// axis: actual and predicted values above, the detector's smoothed error
// and dashed threshold below, flagged readings as red dots in both, spans
// excluded from training shaded.
//
// # Scale
//
// Long series are downsampled for drawing only: the time range is cut into
// 1,000 buckets (about one per pixel) and each unbroken run of values keeps
// its minimum and maximum per bucket, so a one-reading spike keeps its
// height and a one-reading gap still breaks the line; flagged readings are
// thinned to one marker per bucket. Many series stay usable: the tables
// list every series, but only Options.MaxSeriesPlots of them (default 60)
// get a figure, chosen flagged-first then by validation error relative to
// the series' spread; loss curves are drawn for the first
// Options.MaxLossPlots models (default 100). Figures are drawn in parallel.
// A series figure adds about 130 KB to the file and a loss figure about
// 30 KB: 100 series of 2,000 readings drawn in detail make a 13 MiB report
// in about 3.5 s on two busy cores (BenchmarkWrite); 500 series with the
// defaults make about 12 MB in 2 s.
//
// # Looking at one
//
//	go test ./internal/report -run TestWriteExample -args -out=/tmp/report.html
//
// writes a report of realistic synthetic data (and two of its figures as
// PNG files beside it).
//
// # Concurrency
//
// Write and WriteFile only read the Run and may run concurrently, also on
// the same Run, as long as nobody modifies it meanwhile.
package report

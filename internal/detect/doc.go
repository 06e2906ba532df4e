// Package detect is Vigil's detection path for a set of series: for each
// reading it checks order, duplicates and gaps, compares the value with the
// prediction the series' LSTM made after the previous reading, feeds the
// error to the series' dynamic threshold (package dynthreshold: smoothing,
// rolling threshold, episodes, score) and then steps the LSTM with the
// reading to predict the next one.
//
// The consumer runs one Engine per input partition; the trainer's backtest
// runs the very same Engine over files, so that what a backtest reports is
// what the consumer would have published. An Engine steps all series of a
// model that have a reading in the same batch with one batched model step
// (bit-identical to stepping them one by one, so results never depend on
// how readings were batched).
//
// Per-series state (LSTM h and c, the pending prediction, the threshold
// detector, the last readings kept for re-priming, order and gap
// bookkeeping) has a versioned binary encoding that the consumer checkpoints
// to its changelog; a restored series makes the same decisions as one that
// never stopped.
//
// Policies, all from Config: a reading older than the series' last one is
// rejected (dead-lettered by the consumer) or accepted; a reading with the
// same event time as the last one is a duplicate and ignored; a gap longer
// than GapFactor times the series' usual interval re-primes the LSTM from
// the retained readings, or resets the series to warm up again. When a new
// model version is swapped in, each series re-primes from its retained
// readings on its next reading and its threshold warms up from the new
// model's validation errors, so there is no blind period.
//
// An Engine is not safe for concurrent use; it never blocks.
package detect

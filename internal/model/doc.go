// Package model is Vigil's forecaster: a stack of LSTM layers and a dense
// head that, for each series, predicts the next reading from everything seen
// so far.
//
// Data flow: the trainer builds a gorgonia graph of the network, trains it
// with truncated back-propagation through time over contiguous segments
// (carrying the recurrent state from one segment to the next, exactly as the
// consumer runs one long sequence) and writes an artifact. The consumer
// loads the artifact and calls the streaming step once per reading, carrying
// each series' State from message to message; the prediction error feeds
// package dynthreshold.
package model

//go:build race

package model

// raceEnabled shortens the float64-reference tests under the race detector,
// which slows their plain loops tenfold; the kernels' coverage is the same.
const raceEnabled = true

// Package dataset reads sensor series from files: CSV in the Numenta Anomaly
// Benchmark layout (timestamp,value; one series per file) or with a series
// column (many series per file), plus further numeric columns for
// multivariate sensors. The trainer replays files through it, the replay
// tool publishes them to Kafka, and the backtest scores them.
package dataset

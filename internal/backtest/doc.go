// Package backtest runs Vigil's detection path offline over files in the
// Numenta Anomaly Benchmark layout and scores it as NAB does.
//
// For every <dir>/<category>/<file>.csv it trains a model on the file's
// probationary part only (the first 15% of rows, at most 750, which NAB
// lets a detector learn from), then runs exactly the consumer's detection
// code (package detect: the model step, the dynamic threshold and the
// episodes, with the consumer's order and gap policies) over the whole
// file, and writes <out>/<category>/<file>.csv with the columns
// timestamp,value,anomaly_score,label,is_anomaly. anomaly_score is the
// decision's AlertScore: the score of the alert the consumer raises when a
// reading opens an episode, and below 0.5 on every other reading, because
// NAB counts every row at or above its threshold as a separate detection
// while the consumer alerts once per episode. is_anomaly is the flag
// the consumer would have published in the reading's score record; a row
// the consumer would have dead-lettered (a timestamp that goes back in
// time, say) scores 0 and is not an anomaly. With labels, the corpus is
// scored with package nab under NAB's three profiles: anomaly_score with
// one threshold optimised over the corpus per profile, and the is_anomaly
// flags and the alerts (episode openings) as they are.
//
// Settings are the same for every file; labels are used for scoring only,
// never for training or thresholds. They are the consumer's defaults except
// for the threshold settings in Defaults (a sooner-reacting threshold,
// which suits NAB's reward for early alerts; see docs/backtest.md).
package backtest

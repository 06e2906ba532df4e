// Package nab scores anomaly detections the way the Numenta Anomaly
// Benchmark (NAB, github.com/numenta/NAB) does, for the trainer's backtest.
//
// Its place in the pipeline:
//
//	trainer backtest ──► per-file rows: timestamp, anomaly_score, is_anomaly
//	        │                    (one File per data file, rows in file order)
//	        ▼
//	nab.LoadWindows(combined_windows.json) ──► File.Windows
//	        ▼
//	nab.Optimize / nab.Score / nab.ScoreFlags, per Profile
//	        ▼
//	Result: raw score, Normalized (0 = detect nothing, 100 = perfect),
//	        window and row counts, per-file breakdown ──► the figures ops read
//
// The backtest runner owns reading data, running the detector and writing
// NAB-style result CSVs (timestamp,value,anomaly_score,label,is_anomaly);
// Label gives it the label column.
//
// # Scoring, as NAB defines it
//
// With n rows in a file, the first P = Probation(n) = min(⌊0.15·n⌋, 750)
// rows are ignored entirely (NAB nab/util.py getProbationPeriod,
// nab/sweeper.py Sweeper._getProbationaryLength). A window spans rows l..r,
// both inclusive, where rows l and r carry the window's start and end
// timestamps; its width is w = r − l + 1 (sweeper.py calcSweepScore).
//
// A row i inside a window has relative position y = −(r − i + 1)/w, so
// y = −1 at the left edge and y = −1/w at the right edge. NAB's scaled
// sigmoid is
//
//	σ(y) = 2/(1 + e^{5y}) − 1   for y ≤ 3,   σ(y) = −1 for y > 3
//
// (sweeper.py scaledSigmoid). y is often described as running from −1 at
// the left edge to 0 at the right edge; the formula, NAB's, gives −1/w at
// the right edge, so a detection there still earns a little
// (σ(−1/w) > 0) and the zero crossing falls between the window's last row
// and the next. The formula is what is implemented. A detection at row i of a window is worth
// tpWeight · σ(y)/σ(−1), so the left edge earns exactly tpWeight and later
// detections less. Only the best (that is, the earliest) detection of a
// window counts; a window without one costs −fnWeight.
//
// A detection at row i outside every window is worth fpWeight · σ(d/(w'−1))
// where d = i − r' is its distance past the right edge r' of the closest
// preceding window and w' that window's width; it is worth −fpWeight when no
// window precedes it in the file. Rows not detected outside windows (true
// negatives) are worth 0: NAB's profiles carry a tnWeight, but no NAB scorer
// uses it, so Profile has none.
//
// A corpus's raw score is the sum over its files. A detection is a row whose
// anomaly score is ≥ the threshold (nab/util.py
// convertAnomalyScoresToDetections; the sweep in calcScoreByThreshold
// agrees). Optimize chooses one threshold for the whole corpus per profile,
// as nab/optimizer.py optimizeThreshold does with the sweeper, and
// Normalize maps a raw score to NAB's scale:
//
//	normalized = 100 · (raw − null)/(perfect − null),
//	null = −fnWeight · windows,  perfect = tpWeight · windows
//
// (nab/runner.py normalize; null is what the null detector, which detects
// nothing, scores). windows counts the windows that have a row after
// probation; a window wholly inside the probationary part is not scored at
// all, as in NAB's sweeper, and NAB's labels never have one.
//
// The doc comments of each function name the NAB source they follow and
// every place where a convention had to be chosen.
package nab

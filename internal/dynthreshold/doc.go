// Package dynthreshold turns the stream of prediction errors of one series
// into decisions alerting can trust: for every reading, whether it is
// anomalous, a score in [0, 1], the explanation, and the episode it belongs
// to.
//
// # Data flow
//
// The consumer runs, per series and per reading:
//
//	model (package model) → e_t = |y_t − ŷ_t| → Detector.Observe → Decision → anomaly events
//
// It creates one Detector per series with New(Config, Prior), the Prior
// being the validation-error statistics stored with the model artifact;
// calls Observe with the reading's event time, value and error; publishes
// a Decision's episode transitions (Event: opened, updated, closed) as
// anomaly events; and checkpoints the per-series state with AppendBinary /
// MarshalBinary, restoring it with UnmarshalBinary on a Detector built with
// the same Config and Prior. The package is independent of the model.
//
// A Detector is per series and not safe for concurrent use. Observe never
// blocks, never allocates in steady state and uses no wall clock: decisions
// depend only on the readings, their order and their event times, so a
// replay gives the same decisions.
//
// # The reference
//
// Reference is Telemanom's nonparametric dynamic threshold (Hundman et al.,
// "Detecting Spacecraft Anomalies Using LSTMs and Nonparametric Dynamic
// Thresholding", KDD 2018, arXiv:1802.04431) run in batch over a whole
// series, as telemanom/errors.py does (github.com/khundman/telemanom:
// Errors, ErrorWindow.find_epsilon, compare_to_epsilon, prune_anoms), with
// its published defaults: EWMA span 70·30·0.05 = 105 (bias-corrected:
// α = 2/(span+1), numerator and denominator accumulated separately),
// windows of h = 2,100 smoothed errors stepped by 70, z ∈ {2.5, 3, …, 11.5}
// with ε = μ + zσ and score (Δμ/μ + Δσ/σ)/(|E_seq|² + |e_a|), at most 5
// sequences covering less than half the window, z = 12 if none qualifies,
// the same on the errors inverted about the window's mean, flags only above
// 5 % of the values' 95th−5th percentile range, and pruning with p = 0.13.
// It follows the code where the paper is less precise; see Reference. It is
// the oracle of the tests, not part of the serving path.
//
// # The streaming detector
//
// Each reading is decided when it arrives, against the threshold in force,
// which is recomputed after every Batch (70) readings over the last
// min(readings, h) readings. Observe costs O(1); a recomputation costs
// O(h + k log k + w log w) with k ≤ h/7.25 the readings beyond μ + 2.5σ
// (Cantelli) and w = 30 the batches: the z search sorts only those k
// candidates and, as z decreases, adds them to a position bitmap whose
// buffered runs are counted in one pass per z; the mean and σ without the
// exceedances come from running sums. Values are kept per batch in sorted
// order (only their distribution matters), so their 5th and 95th
// percentiles merge 30 sorted batches with a heap.
//
// A reading is flagged upwards when e_s ≥ θ_up = max(ε, floor, cut) and
// downwards (Telemanom's inverted errors) when 2μ − e_s ≥ θ_down =
// max(ε_inv, floor, cut_inv), where floor is just above
// MinSpread·(P95 − P5) of the window's values and cut = m/(1 − p) with m
// the largest smoothed error of the window that was not flagged: a new
// anomalous sequence survives Telemanom's pruning against that error
// exactly when its peak reaches cut. If the window's errors are negligible
// against its values (Telemanom's scale check: σ_e ≤ 0.05·σ_y and
// max e_s ≤ 0.05·(P95 − P5), or max e_s ≤ MinError) nothing is flagged
// until the next recomputation. Decision.Pruned and Decision.Floored say
// why a reading beyond ε was not flagged.
//
// Two adaptations make the streaming threshold judge a batch as the
// reference does, although the batch is not yet in the window:
//
//   - When no z qualifies on the window, the threshold is the lowest ε on
//     the z grid above every smoothed error of the window instead of
//     μ + 12σ: the reference, whose window holds the new batch, would find
//     an excursion above that level to be its only sequence, and some z
//     would qualify with ε at most its peak (searchOrClear).
//   - When a batch completes, it is judged again in hindsight with the new
//     threshold, exactly as compare_to_epsilon and prune_anoms judge the
//     newest batch. No decision changes; the readings the reference would
//     have flagged are excluded from m, as errors_all.i_anom excludes them
//     in the original, so that an excursion that arrived under the old
//     threshold does not raise the pruning cutoff above its own
//     continuation.
//
// # Warm-up
//
// Until the window holds WarmUp readings (default 420: with the error
// buffer of 100 one interior exceedance covers 199 readings, and the search
// can only qualify a z once that is less than half the window, from 399
// readings, rounded up to whole batches) the threshold comes from the
// Prior: flag e_s > max(μ_v + WarmUpSigma·σ_v, P99.9_v) with WarmUpSigma 4,
// upwards only; Decision.WarmUp is true. So a newly deployed series is
// protected from its first reading. A zero Prior flags nothing in warm-up.
//
// # Simpler rules
//
// Config.Rule selects, per model, the rule of the threshold: telemanom (the
// default, above) or, applied to the smoothed errors over the same window,
// upwards, without inversion or pruning: percentile (the Percentile-th,
// default 99), meansigma (μ + Sigma·σ, default 3), iqr (Q3 + IQRK·IQR,
// default 3) and fixed (Fixed, or the prior's 99.9th percentile). They flag
// strictly above their threshold; a smoothing span of 1 applies them to raw
// errors.
//
// # Scores
//
// With θ the effective threshold of the side of μ the reading lies on and
// ρ = e_s/θ upwards or ρ = (2μ − e_s)/θ_down downwards,
//
//	score = ρ/(1 + ρ)
//
// which is 0 at ρ = 0, exactly 0.5 at the threshold and tends to 1, and is
// increasing in how far e_s lies beyond the threshold. Flagged readings
// score at least 0.5 and others strictly less (rounding at ρ ≈ 1 is
// resolved by the decision), so score ≥ 0.5 exactly when flagged.
//
// Decision.AlertScore is the score of the alert a reading raises: Score on
// the reading that opens an episode, Score capped just below 0.5 on every
// other reading. It is ≥ 0.5 exactly when the reading opens an episode
// (the consumer's one alert per incident), and increasing in the
// exceedance among those. It is what a benchmark that counts every reading
// above a threshold as a separate detection (NAB) should rank by: Score
// stays above 0.5 for the whole of an excursion.
//
// # Episodes
//
// The first flagged reading opens an episode whose ID is that reading's
// sequence number (deterministic); a flagged reading with a higher score
// than the episode's peak updates it; the episode closes on the first
// unflagged reading after Quiet (100, Telemanom's error buffer) unflagged
// readings, and QuietFor of event time if set, but not before it has lasted
// MinReadings and MinFor. For Cooldown readings (and CooldownFor) after a
// close, flagged readings open no new episode (Decision.CoolDown), so one
// incident is one alert.
//
// # State
//
// A Detector's state is its smoothing accumulators, readings count and
// event clock, the threshold in force, the episode, and the window: per
// completed batch the smoothed errors and the (sorted) values as 16-bit
// codes over the batch's range (x ≈ lo + q·step, lo and step float32: an
// error of at most range/131070), the batch being filled as float32, and
// one bit per reading saying whether it is excluded from the largest
// normal error. The detector works on exactly these quantised values, so
// decode(encode(s)) decides identically; the current reading's own e_s is
// always the float64 accumulator. The encoding is versioned and
// checksummed (see state.go); at h = 2,100 it is at most 9,600 bytes (29
// batches: the oldest batch of a full ring has left the next window and is
// not stored). In memory a Detector takes about 12 KB; the recomputation's
// working memory (about 70 KB at h = 2,100) is taken from a pool shared by
// all detectors for the duration of a batch completion, so it is held once
// per goroutine, not per series.
//
// # Agreement with the reference
//
// TestAgreementNAB runs both, with the defaults, over the 18 series of
// testdata/nab, scaled to [−1, 1] per file, with the errors of the
// persistence forecast ŷ_t = y_{t−1} standing in for the model and the
// streaming Prior taken from the first 15 % of each series (NAB's
// probationary period). A streaming episode matches a reference sequence
// if they overlap. Measured:
//
//	reference sequences 14, streaming episodes 18
//	sequence recall 1.00 (14/14 reference sequences overlapped by an episode)
//	sequence precision 0.78 (14/18 episodes overlap a reference sequence)
//	flagged readings: reference 2,734, streaming 692; point recall 0.20, precision 0.80
//	readings inside episodes: 770; recall 0.23, precision 0.82
//
// The systematic differences, all seen in that table:
//
//   - Granularity. With error_buffer 100 ≥ batch 70, the reference flags a
//     whole batch (and, in its first window, ±100 readings) around any
//     exceedance, readings before it included. The streaming detector
//     flags only the readings whose own e_s crosses the threshold, on
//     arrival; the span between is carried by the episode. Hence point
//     recall 0.20 with precision 0.80.
//   - Timing. The reference judges a batch with a threshold computed over a
//     window that contains it; the streaming threshold was computed before
//     the batch arrived. The adaptations above recover every reference
//     sequence, but an excursion is flagged from the reading at which it
//     exceeds the old window's largest normal error by p, not from its
//     start, and pruning decisions near the 13 % margin can go the other
//     way because the largest normal error is that of the window one batch
//     older (nyc_taxi, readings 7210–7280).
//   - The first window. The reference judges readings 0–2,099 at once with a
//     threshold computed from all of them (so from their future), replaces
//     the first l_s = 250 smoothed errors by the mean of the first 500 and
//     ignores the first 500 (250 below 2,500 readings); the streaming
//     detector uses the Prior for the first 420 readings and then windows
//     that grow to h. It flags large early errors the reference ignores
//     (art_increase_spike_density, art_noisy: 2 warm-up flags in all) and
//     finds first-window anomalies later or with fewer readings
//     (ambient_temperature_system_failure, 4 readings against 228).
//   - The end of a series. The reference's last window reaches the last
//     reading but, like every window after the first, flags only its last
//     70 readings, so up to 69 readings before them are never judged and
//     count as normal when those 70 are pruned. In
//     cpu_utilization_asg_misconfiguration a drop of the errors that lasts
//     to the end is flagged by the streaming detector through reading
//     18,048; the reference stops at 17,919 (point precision 0.38 there).
//   - Pointwise pruning. The reference keeps a sequence if its maximum
//     stands p above the largest normal error; the streaming detector
//     flags a reading if it does, so the rise of an excursion is not
//     flagged and isolated single readings that just clear the cutoff are
//     (art_daily_small_noise; Telemanom drops single-reading sequences, an
//     episode can be one reading).
//   - Numerics. Quantisation (16 bits per batch range) and running sums for
//     the pruned mean and σ (the reference uses two passes, as numpy) can
//     move a z at an exact tie; the fast search picks the reference's z on
//     all 200 random windows of TestSearchMatchesFindEpsilon.
//
// # Speed
//
// BenchmarkObserve is the amortised cost per reading, recomputations
// included, at h = 2,100 and N = 70. Besides wall time (ns/op) it reports
// the benchmark thread's CPU time (cpu-ns/op), which does not depend on
// what else the machine runs. On one core of the development machine
// (AMD EPYC, heavily shared at the time): telemanom about 310 cpu-ns per
// reading (wall 0.7–3.5 µs depending on the load), percentile 185, iqr
// 370, meansigma 120, fixed 77; 0 B/op and 0 allocs/op for every rule.
// Encoding the state allocates nothing; decoding allocates its buffers
// once (11.6 KB).
package dynthreshold

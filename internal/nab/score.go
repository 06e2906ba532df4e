package nab

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrInput is returned (wrapped, with the file key and row) for files that
// cannot be scored.
var ErrInput = errors.New("bad scoring input")

// ProbationPercent is the share of each file's first rows that NAB ignores
// (nab/runner.py probationaryPercent; nab/sweeper.py probationPercent).
const ProbationPercent = 0.15

// File is one data file's detector output, rows in file order.
type File struct {
	// Key names the file as combined_windows.json does, e.g.
	// "realKnownCause/nyc_taxi.csv". Keys must be unique in a corpus.
	Key string
	// Times are the rows' timestamps.
	Times []time.Time
	// Scores are the rows' anomaly scores (NAB's anomaly_score column);
	// required by Score and Optimize, finite, one per row.
	Scores []float64
	// Flags are the detector's own decisions (the is_anomaly column);
	// required by ScoreFlags only, one per row.
	Flags []bool
	// Windows are the file's labelled windows, in time order. Both ends
	// of each must be the timestamp of exactly one row (NAB
	// nab/labeler.py getWindows rejects labels whose timestamps are not
	// found exactly once in the data file).
	Windows []Window
}

// Probation returns how many of a file's n first rows are probationary,
// i.e. ignored by scoring: min(⌊0.15·n⌋, 0.15·5000 = 750), computed in
// float64 exactly as NAB's nab/util.py getProbationPeriod and
// nab/sweeper.py Sweeper._getProbationaryLength do. Rows i < Probation(n)
// are neither true nor false positives, and a window counts only if it
// has a row at or after Probation(n).
func Probation(n int) int {
	if n <= 0 {
		return 0
	}
	return int(math.Min(math.Floor(ProbationPercent*float64(n)), ProbationPercent*5000))
}

// Result is the NAB score of a corpus under one profile.
type Result struct {
	Profile Profile
	// Threshold is the anomaly score at or above which a row is a
	// detection. ByFlags results used File.Flags instead; Threshold is
	// then 0 and means nothing.
	Threshold float64
	ByFlags   bool
	// Raw is the sum of the files' raw scores; Normalized is
	// Normalize(Raw, Windows, Profile), NaN for a corpus without windows.
	Raw        float64
	Normalized float64
	// Windows is the number of scored windows (those with a row after
	// probation); Detected of them had a detection, Missed had none.
	Windows, Detected, Missed int
	// TP, FP, FN and TN count rows after probation as NAB's sweeper does
	// (nab/sweeper.py calcScoreByThreshold): detected rows inside / outside
	// windows, undetected rows inside / outside windows. Every detection of
	// a window is a TP row here, although only its best one scores.
	TP, FP, FN, TN int
	// Files holds the per-file breakdown, in the order given.
	Files []FileResult
}

// FileResult is one file's share of a Result.
type FileResult struct {
	Key string
	// Rows is the file's length, Probation how many of its first rows were
	// ignored.
	Rows, Probation int
	// Raw = TPScore + FPScore + FNScore: the best detection of each
	// detected window, the detections outside windows, the missed windows.
	Raw, TPScore, FPScore, FNScore float64
	Windows, Detected, Missed      int
	TP, FP, FN, TN                 int
}

// instant is a time as a comparable key, whatever its location or
// monotonic reading.
type instant struct {
	sec  int64
	nsec int
}

func at(t time.Time) instant { return instant{t.Unix(), t.Nanosecond()} }

// span is a window as row indices: rows l..r, both inclusive.
type span struct{ l, r int }

// prepared is a checked File with its windows as spans.
type prepared struct {
	f     *File
	prob  int
	spans []span
}

// prepare checks files and finds each window's rows. Window membership is
// by row index, as nab/sweeper.py calcSweepScore has it: the window spans
// from the row stamped with its start to the row stamped with its end. The
// ends must each match exactly one row (nab/labeler.py getWindows), and
// the spans must come in order without overlapping.
func prepare(files []File, needScores, needFlags bool) ([]prepared, error) {
	out := make([]prepared, len(files))
	seen := make(map[string]bool, len(files))
	for fi := range files {
		f := &files[fi]
		n := len(f.Times)
		if seen[f.Key] {
			return nil, fmt.Errorf("%w: file %q appears twice", ErrInput, f.Key)
		}
		seen[f.Key] = true
		if needScores {
			if len(f.Scores) != n {
				return nil, fmt.Errorf("%w: file %q: %d anomaly scores for %d rows", ErrInput, f.Key, len(f.Scores), n)
			}
			for i, s := range f.Scores {
				if math.IsNaN(s) || math.IsInf(s, 0) {
					return nil, fmt.Errorf("%w: file %q row %d: anomaly score %v is not finite", ErrInput, f.Key, i, s)
				}
			}
		}
		if needFlags && len(f.Flags) != n {
			return nil, fmt.Errorf("%w: file %q: %d detector flags for %d rows", ErrInput, f.Key, len(f.Flags), n)
		}
		p := prepared{f: f, prob: Probation(n), spans: make([]span, len(f.Windows))}
		if len(f.Windows) > 0 {
			idx := make(map[instant]int, n)
			for i, t := range f.Times {
				if _, dup := idx[at(t)]; dup {
					idx[at(t)] = -1
				} else {
					idx[at(t)] = i
				}
			}
			find := func(t time.Time, k int, end string) (int, error) {
				i, ok := idx[at(t)]
				switch {
				case !ok:
					return 0, fmt.Errorf("%w: file %q window %d: %s %s is not the timestamp of a row", ErrInput, f.Key, k, end, t.Format(time.RFC3339Nano))
				case i < 0:
					return 0, fmt.Errorf("%w: file %q window %d: %s %s is the timestamp of more than one row", ErrInput, f.Key, k, end, t.Format(time.RFC3339Nano))
				}
				return i, nil
			}
			for k, w := range f.Windows {
				l, err := find(w.Start, k, "start")
				if err != nil {
					return nil, err
				}
				r, err := find(w.End, k, "end")
				if err != nil {
					return nil, err
				}
				if r < l {
					return nil, fmt.Errorf("%w: file %q window %d: its end row %d comes before its start row %d", ErrInput, f.Key, k, r, l)
				}
				if k > 0 && l <= p.spans[k-1].r {
					return nil, fmt.Errorf("%w: file %q window %d: rows %d..%d overlap or precede window %d", ErrInput, f.Key, k, l, r, k-1)
				}
				p.spans[k] = span{l, r}
			}
		}
		out[fi] = p
	}
	return out, nil
}

// scaledSigmoid is NAB's σ (nab/sweeper.py scaledSigmoid):
//
//	σ(y) = 2·sigmoid(−5y) − 1 = 2/(1 + e^{5y}) − 1   for y ≤ 3
//	σ(y) = −1                                          for y > 3
//
// σ(−1) = 2/(1 + e^{−5}) − 1 ≈ 0.98661, σ(0) = 0, σ(1) ≈ −0.98661. It is
// evaluated in NAB's order of operations; the explicit conversion keeps
// the compiler from fusing 2·s − 1 into one rounding.
func scaledSigmoid(y float64) float64 {
	if y > 3 {
		return -1
	}
	s := 1 / (1 + math.Exp(5*y))
	return float64(2*s) - 1
}

// maxTP is σ(−1), the unweighted score of a window's left edge.
func maxTP() float64 { return scaledSigmoid(-1) }

// walk calls fn for every row after probation, in file order, with the
// row's window (an index into p.spans, or −1 outside windows) and its NAB
// score were it a detection (nab/sweeper.py calcSweepScore):
//
//   - inside window [l, r] of width w = r − l + 1, at relative position
//     y = −(r − i + 1)/w: pr.TP · σ(y)/σ(−1). NAB computes
//     σ(y)·tpWeight/σ(−1); dividing first makes the left edge worth
//     exactly tpWeight whatever the weight, and is the same number for
//     NAB's profiles (all have tpWeight 1).
//   - outside windows, after window [l', r'] of width w': pr.FP · σ(y) with
//     y = (i − r')/(w' − 1). For a one-row window NAB's sweeper divides by
//     zero (its ZeroDivisionError ends the run); we take y = 2, the
//     distance NAB's earlier nab/scorer.py getScore gave such windows.
//   - outside windows with no window before it in the file: −pr.FP (the
//     sweeper's unweighted score of −1).
//
// The preceding window may lie in the probationary part: the sweeper
// tracks windows over all rows.
func walk(p *prepared, pr Profile, fn func(i, win int, v float64)) {
	n := len(p.f.Times)
	top := maxTP()
	k := 0 // the first window whose right edge is not behind row i
	for i := p.prob; i < n; i++ {
		for k < len(p.spans) && p.spans[k].r < i {
			k++
		}
		if k < len(p.spans) && p.spans[k].l <= i {
			s := p.spans[k]
			y := -float64(s.r-i+1) / float64(s.r-s.l+1)
			fn(i, k, pr.TP*(scaledSigmoid(y)/top))
			continue
		}
		if k == 0 {
			fn(i, -1, -pr.FP)
			continue
		}
		prev := p.spans[k-1]
		y := 2.0
		if w := prev.r - prev.l + 1; w > 1 {
			y = float64(i-prev.r) / float64(w-1)
		}
		fn(i, -1, pr.FP*scaledSigmoid(y))
	}
}

// scoredWindows counts p's windows with a row after probation: NAB's
// sweeper only gives a window a score part when one of its rows is
// scorable (nab/sweeper.py _prepareScoreByThresholdParts).
func (p *prepared) scoredWindows() int {
	c := 0
	for _, s := range p.spans {
		if s.r >= p.prob {
			c++
		}
	}
	return c
}

// score scores prepared files with detect deciding which rows are
// detections.
func score(ps []prepared, pr Profile, detect func(f *File, i int) bool) Result {
	res := Result{Profile: pr, Files: make([]FileResult, len(ps))}
	for fi := range ps {
		p := &ps[fi]
		fr := FileResult{Key: p.f.Key, Rows: len(p.f.Times), Probation: p.prob}
		best := make([]float64, len(p.spans))
		hit := make([]bool, len(p.spans))
		walk(p, pr, func(i, win int, v float64) {
			d := detect(p.f, i)
			switch {
			case win >= 0 && d:
				fr.TP++
				if !hit[win] || v > best[win] {
					best[win], hit[win] = v, true
				}
			case win >= 0:
				fr.FN++
			case d:
				fr.FP++
				fr.FPScore += v
			default:
				fr.TN++
			}
		})
		for k, s := range p.spans {
			if s.r < p.prob {
				continue
			}
			fr.Windows++
			if hit[k] {
				// NAB keeps max(−fnWeight, best detection); with
				// positive weights the detection always wins.
				fr.Detected++
				fr.TPScore += math.Max(best[k], -pr.FN)
			} else {
				fr.Missed++
				fr.FNScore -= pr.FN
			}
		}
		fr.Raw = fr.TPScore + fr.FPScore + fr.FNScore
		res.Files[fi] = fr
		res.Raw += fr.Raw
		res.Windows += fr.Windows
		res.Detected += fr.Detected
		res.Missed += fr.Missed
		res.TP += fr.TP
		res.FP += fr.FP
		res.FN += fr.FN
		res.TN += fr.TN
	}
	res.Normalized = Normalize(res.Raw, res.Windows, pr)
	return res
}

// Score scores files under profile p with the rows whose anomaly score is
// ≥ threshold as detections (nab/util.py convertAnomalyScoresToDetections;
// nab/sweeper.py scoreDataSet picks the same rows from its sweep). Rows in
// each file's probationary part are ignored. See the package comment and
// walk for the scoring rules.
func Score(files []File, p Profile, threshold float64) (Result, error) {
	ps, err := prepare(files, true, false)
	if err != nil {
		return Result{}, fmt.Errorf("nab score: %w", err)
	}
	res := score(ps, p, func(f *File, i int) bool { return f.Scores[i] >= threshold })
	res.Threshold = threshold
	return res, nil
}

// ScoreFlags scores files under profile p with the detector's own
// decisions (File.Flags, the is_anomaly column) as detections, by the same
// rules as Score. Flags in the probationary part are ignored.
func ScoreFlags(files []File, p Profile) (Result, error) {
	ps, err := prepare(files, false, true)
	if err != nil {
		return Result{}, fmt.Errorf("nab score flags: %w", err)
	}
	res := score(ps, p, func(f *File, i int) bool { return f.Flags[i] })
	res.ByFlags = true
	return res, nil
}

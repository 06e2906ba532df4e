package nab

import "math"

// Profile is a NAB application profile: the weights of a detected window
// (TP), of a detection outside every window (FP) and of a missed window
// (FN). NAB's config/profiles.json also gives each profile a tnWeight of
// 1.0, but no NAB scorer reads it (nab/scorer.py getScore: "TN are 0";
// nab/sweeper.py reads only tp, fp and fn), so it is left out here.
type Profile struct {
	Name       string
	TP, FP, FN float64
}

// profiles is NAB's config/profiles.json, in the order NAB's papers list
// them.
var profiles = [...]Profile{
	{Name: "standard", TP: 1.0, FP: 0.11, FN: 1.0},
	{Name: "reward_low_FP_rate", TP: 1.0, FP: 0.22, FN: 1.0},
	{Name: "reward_low_FN_rate", TP: 1.0, FP: 0.11, FN: 2.0},
}

// Profiles returns NAB's three profiles: standard, reward_low_FP_rate and
// reward_low_FN_rate (config/profiles.json). The slice is a fresh copy.
func Profiles() []Profile {
	out := make([]Profile, len(profiles))
	copy(out, profiles[:])
	return out
}

// Normalize maps a raw corpus score onto NAB's 0–100 scale:
//
//	100 · (raw − null)/(perfect − null),
//	null = −p.FN · windows,  perfect = p.TP · windows
//
// where windows is the number of scored windows (Result.Windows). A
// detector that detects nothing scores exactly 0, one that detects every
// window at its left edge and nothing else exactly 100; false positives can
// take the score below 0. This is nab/runner.py normalize, with the null
// detector's raw score written out as the issue defines it: a detector
// that detects nothing loses fnWeight per window, and that is what NAB's
// null detector scores at its optimal threshold. With no windows (or
// p.TP = −p.FN) the scale is undefined and Normalize returns NaN.
func Normalize(raw float64, windows int, p Profile) float64 {
	null := -p.FN * float64(windows)
	perfect := p.TP * float64(windows)
	if perfect == null {
		return math.NaN()
	}
	return 100 * (raw - null) / (perfect - null)
}

package dynthreshold

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
)

func setBit(b []uint64, i int, v bool) {
	if v {
		b[i>>6] |= 1 << (uint(i) & 63)
	} else {
		b[i>>6] &^= 1 << (uint(i) & 63)
	}
}

func getBit(b []uint64, i int) bool { return b[i>>6]&(1<<(uint(i)&63)) != 0 }

func trailingZeros(w uint64) int { return bits.TrailingZeros64(w) }

// sortCands sorts by value descending, then by position.
func sortCands(c []cand) {
	slices.SortFunc(c, func(a, b cand) int {
		if r := cmp.Compare(b.x, a.x); r != 0 {
			return r
		}
		return cmp.Compare(a.pos, b.pos)
	})
}

func sortFloats(x []float64) { slices.Sort(x) }

// quantileSelect returns numpy's default (linear) q-th percentile of x,
// reordering x. It runs in expected O(n): a quickselect with
// median-of-three pivots that falls back to sorting if it recurses too
// deeply, so it is deterministic and O(n log n) at worst.
func quantileSelect(x []float64, q float64) float64 {
	n := len(x)
	if n == 0 {
		return math.NaN()
	}
	r := q / 100 * float64(n-1)
	i := int(r)
	if i >= n-1 {
		return selectK(x, n-1)
	}
	a := selectK(x, i)
	f := r - float64(i)
	if f == 0 {
		return a
	}
	b := x[i+1]
	for _, v := range x[i+2:] {
		b = min(b, v)
	}
	return a + f*(b-a)
}

// selectK reorders x so that x[k] is the k-th smallest, everything before
// it ≤ x[k] and everything after ≥ x[k], and returns x[k].
func selectK(x []float64, k int) float64 {
	lo, hi := 0, len(x)-1
	depth := 2 * bits.Len(uint(len(x)))
	for hi > lo {
		if depth == 0 {
			slices.Sort(x[lo : hi+1])
			return x[k]
		}
		depth--
		// median of three to x[lo]
		mid := lo + (hi-lo)/2
		if x[mid] < x[lo] {
			x[mid], x[lo] = x[lo], x[mid]
		}
		if x[hi] < x[lo] {
			x[hi], x[lo] = x[lo], x[hi]
		}
		if x[hi] < x[mid] {
			x[hi], x[mid] = x[mid], x[hi]
		}
		x[lo], x[mid] = x[mid], x[lo]
		p := x[lo]
		// Hoare partition around p
		i, j := lo, hi+1
		for {
			for i++; i <= hi && x[i] < p; i++ {
			}
			for j--; x[j] > p; j-- {
			}
			if i >= j {
				break
			}
			x[i], x[j] = x[j], x[i]
		}
		x[lo], x[j] = x[j], x[lo]
		switch {
		case j == k:
			return x[k]
		case j < k:
			lo = j + 1
		default:
			hi = j - 1
		}
	}
	return x[k]
}

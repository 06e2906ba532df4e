package model

import "math"

// This file holds the arithmetic kernels of the serving step and their
// portable implementations. On amd64 with AVX2 and FMA the same kernels run
// as Go assembly (kernel_amd64.s), chosen at start-up from CPUID (the
// purego build tag forces the portable ones); both are tested against each
// other.
//
// On amd64 the kernel sets are: AVX2 + FMA for everything, or, where the
// CPU has AVX-512 (F, DQ), that with 512-bit kernels for the activations
// and for the gate products of eight or more series. Both compute exactly
// what the AVX2 kernels do (the same operations per lane, the same
// summation order), so switching between them changes no bit.
//
// Summation order. Every gate pre-activation is a dot product of length K.
// All kernels, portable or vectorised, single-series or batched, compute it
// the same way: eight partial sums, lane l accumulating the products of
// indices p ≡ l (mod 8) in increasing p, then reduced as
//
//	((s0+s1)+(s2+s3)) + ((s4+s5)+(s6+s7)),
//
// and then the bias is added. Because every vector kernel (one series or
// eight, AVX2 or AVX-512) computes each element this way, the single-series
// and the batched step are bit-identical. The vector kernels fuse each
// multiply-add (one rounding), the portable one may or may not (the
// compiler decides per GOAMD64 level), so those two agree to float32
// rounding, not bit for bit.

// kernelSet selects an implementation of the kernels. The zero value picks
// the best one this CPU supports.
type kernelSet uint8

const (
	kernAuto    kernelSet = iota // resolve to defaultKernels
	kernGeneric                  // portable Go
	kernAVX2                     // amd64 AVX2 + FMA assembly
	kernAVX512                   // kernAVX2 plus AVX-512 activations and batched gate products
)

// defaultKernels is the kernel set used when none is forced.
var defaultKernels = detectKernels()

func (ks kernelSet) resolve() kernelSet {
	if ks == kernAuto {
		return defaultKernels
	}
	if ks == kernAVX2 && !haveAVX2FMA || ks == kernAVX512 && !haveAVX512 {
		panic("model: vector kernels requested that this CPU does not support")
	}
	return ks
}

func (ks kernelSet) String() string {
	switch ks.resolve() {
	case kernAVX2:
		return "avx2"
	case kernAVX512:
		return "avx512"
	default:
		return "generic"
	}
}

func detectKernels() kernelSet {
	if haveAVX512 {
		return kernAVX512
	}
	if haveAVX2FMA {
		return kernAVX2
	}
	return kernGeneric
}

// gemmNT computes, for i < m and j < n,
//
//	c[i*ldc+j] = Σ_{p<k} a[i*lda+p]·b[j*ldb+p] + bias[j],
//
// that is C = A·Bᵀ + 1·biasᵀ with A (m×k) and B (n×k) row-major. With B the
// fused gate matrix W of an LSTM layer and A the gathered [x; h] rows of a
// batch, C holds the gate pre-activations of every series. Both operands are
// read along contiguous rows, so the weights are used exactly as stored.
func gemmNT(ks kernelSet, m, n, k int, a []float32, lda int, b []float32, ldb int, bias, c []float32, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	if k <= 0 || lda < k || ldb < k || ldc < n {
		panic("model: gemmNT: bad shape")
	}
	// Bounds, once; the loops below then index freely.
	_ = a[(m-1)*lda+k-1]
	_ = b[(n-1)*ldb+k-1]
	_ = c[(m-1)*ldc+n-1]
	_ = bias[n-1]
	j0 := 0
	if ks >= kernAVX2 {
		if n4 := n &^ 3; n4 > 0 {
			i := 0
			if ks == kernAVX512 {
				for ; i+8 <= m; i += 8 {
					gemmNT8AVX512(k, &a[i*lda], lda, &b[0], ldb, n4, &bias[0], &c[i*ldc], ldc)
				}
			}
			for ; i+2 <= m; i += 2 {
				gemmNT2AVX2(k, &a[i*lda], lda, &b[0], ldb, n4, &bias[0], &c[i*ldc], ldc)
			}
			if i < m {
				gemmNT1AVX2(k, &a[i*lda], &b[0], ldb, n4, &bias[0], &c[i*ldc])
			}
			j0 = n4
		}
	}
	for i := 0; i < m; i++ {
		ar := a[i*lda : i*lda+k]
		for j := j0; j < n; j++ {
			c[i*ldc+j] = dot8(ar, b[j*ldb:j*ldb+k]) + bias[j]
		}
	}
}

// dot8 returns Σ a[p]·b[p] in the summation order shared by all kernels (see
// the top of this file). len(b) must be at least len(a).
func dot8(a, b []float32) float32 {
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	k := len(a)
	b = b[:k]
	p := 0
	for ; p+8 <= k; p += 8 {
		aa := a[p : p+8 : p+8]
		bb := b[p : p+8 : p+8]
		s0 += aa[0] * bb[0]
		s1 += aa[1] * bb[1]
		s2 += aa[2] * bb[2]
		s3 += aa[3] * bb[3]
		s4 += aa[4] * bb[4]
		s5 += aa[5] * bb[5]
		s6 += aa[6] * bb[6]
		s7 += aa[7] * bb[7]
	}
	if p < k {
		var t [8]float32
		t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7] = s0, s1, s2, s3, s4, s5, s6, s7
		for l := 0; p+l < k; l++ {
			t[l] += a[p+l] * b[p+l]
		}
		s0, s1, s2, s3, s4, s5, s6, s7 = t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

// lstmCell applies the element-wise part of one LSTM step to one series:
// z holds the 4·H gate pre-activations (order i, f, g, o), c and h the H
// values of the cell and hidden state. It sets, for every unit u,
//
//	c[u] = σ(z_f)·c[u] + σ(z_i)·tanh(z_g)
//	h[u] = σ(z_o)·tanh(c[u])
//
// in float32 arithmetic (two products and a sum, each rounded, no fused
// multiply-add: the formula as written), with σ and tanh evaluated in
// float64 and rounded once to float32, so each activation is within half a
// float32 ulp of the exact value except in rare near-ties (≤ 1 ulp always).
// z is scratch: the vectorised path overwrites it with the activations.
func lstmCell(ks kernelSet, z, c, h []float32) {
	H := len(c)
	if H == 0 {
		return
	}
	z = z[:4*H]
	h = h[:H]
	if ks < kernAVX2 {
		for u := 0; u < H; u++ {
			i := sigmoid32(z[u])
			f := sigmoid32(z[H+u])
			g := tanh32(z[2*H+u])
			o := sigmoid32(z[3*H+u])
			// The conversions round each product to float32 and forbid
			// the compiler to fuse them into a multiply-add.
			cu := float32(f*c[u]) + float32(i*g)
			c[u] = cu
			h[u] = float32(o * tanh32(cu))
		}
		return
	}
	// Vectorised: activations in place over whole blocks of z (the
	// iterations are independent, so the processor overlaps them), then
	// the cell update, then tanh of the new c in place in h. With AVX-512
	// and H a multiple of 8 one call does all of it.
	if ks == kernAVX512 && H%8 == 0 {
		lstmCellAVX512(H, &z[0], &c[0], &h[0], &actTab)
		return
	}
	sigmoidVec(ks, z[:2*H]) // i and f are adjacent
	tanhVec(ks, z[2*H:3*H])
	sigmoidVec(ks, z[3*H:])
	zi, zf, zg, zo := z[:H], z[H:2*H], z[2*H:3*H], z[3*H:4*H]
	for u := range c {
		cu := float32(zf[u]*c[u]) + float32(zi[u]*zg[u])
		c[u] = cu
		h[u] = cu
	}
	tanhVec(ks, h)
	for u := range h {
		h[u] = float32(zo[u] * h[u])
	}
}

// sigmoidVec sets x[i] = σ(x[i]) with the vector kernels of ks (at least
// AVX2): eight lanes at a time with AVX-512, then four, the last len(x)
// mod 4 values in Go. All round the same float64 value once.
func sigmoidVec(ks kernelSet, x []float32) {
	n8 := 0
	if ks == kernAVX512 {
		if n8 = len(x) &^ 7; n8 > 0 {
			sigmoidAVX512(n8, &x[0], &actTab)
		}
	}
	n4 := len(x) &^ 3
	if n4 > n8 {
		sigmoidAVX2(n4-n8, &x[n8], &actTab)
	}
	for i := n4; i < len(x); i++ {
		x[i] = sigmoid32(x[i])
	}
}

// tanhVec is sigmoidVec for tanh.
func tanhVec(ks kernelSet, x []float32) {
	n8 := 0
	if ks == kernAVX512 {
		if n8 = len(x) &^ 7; n8 > 0 {
			tanhAVX512(n8, &x[0], &actTab)
		}
	}
	n4 := len(x) &^ 3
	if n4 > n8 {
		tanhAVX2(n4-n8, &x[n8], &actTab)
	}
	for i := n4; i < len(x); i++ {
		x[i] = tanh32(x[i])
	}
}

// sigmoid32 returns σ(x) = 1/(1+e^{-x}) computed in float64, rounded once.
func sigmoid32(x float32) float32 {
	return float32(1 / (1 + math.Exp(-float64(x))))
}

// tanh32 returns tanh(x) computed in float64, rounded once.
func tanh32(x float32) float32 {
	return float32(math.Tanh(float64(x)))
}

// actTab holds the constants of the vectorised activations, each repeated
// in the four float64 lanes of a 256-bit register. The offsets are fixed in
// kernel_amd64.s (index·32 bytes).
var actTab = func() (t [actTabLen][4]uint64) {
	set := func(i int, v uint64) { t[i] = [4]uint64{v, v, v, v} }
	f := math.Float64bits
	set(0, f(1))                          // one
	set(1, f(-actClamp))                  // lower clamp of the exp argument
	set(2, f(actClamp))                   // upper clamp
	set(3, f(0x1.8p52))                   // round-to-integer shifter
	set(4, f(math.Log2E))                 // log2(e)
	set(5, f(6.93147180369123816490e-01)) // ln2 high part (fdlibm)
	set(6, f(1.90821492927058770002e-10)) // ln2 low part
	set(7, 1023)                          // exponent bias, as an integer
	set(8, 1<<63)                         // sign bit
	set(9, 1<<63-1)                       // all but the sign bit
	set(10, f(0x1p-8))                    // below this |x|, tanh uses its series
	set(11, f(-2))
	set(12, f(2.0/15))
	set(13, f(-1.0/3))
	// exp(r) ≈ Σ_{i≤9} expPoly[i]·r^i on |r| ≤ ln2/2.
	for i, c := range expPoly {
		set(14+i, f(c))
	}
	return t
}()

// expPoly is the degree-9 Chebyshev interpolant of e^r on [-ln2/2, ln2/2]
// in monomial form: relative error below 1.9e-14 (2^-45.6) on the interval,
// measured against 100-bit arithmetic, so σ and tanh computed from it round
// to the nearest float32 except when the exact value lies within 2^-21 ulp
// of a tie. (Taylor would need degree 11 for the same accuracy.)
var expPoly = [actPolyDeg + 1]float64{
	0x1.000000000003fp+0, 0x1.000000000002fp+0, 0x1.ffffffffe6804p-2,
	0x1.5555555547411p-3, 0x1.55555589eba50p-5, 0x1.11111137687cdp-7,
	0x1.6c1629880762ep-10, 0x1.a0195a0643422p-13, 0x1.a1805bec3e685p-16,
	0x1.731aa2b27e584p-19,
}

const (
	actPolyDeg = 9
	actTabLen  = 14 + actPolyDeg + 1
	// actClamp bounds the argument of exp: σ and tanh are already 0 or ±1
	// in float32 well before |x| = 110, and e^110 is finite in float64.
	actClamp = 110
)

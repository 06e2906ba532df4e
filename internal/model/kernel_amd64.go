//go:build !purego

package model

// haveAVX2FMA reports whether the CPU and the operating system support the
// AVX2 and FMA instructions used by kernel_amd64.s; haveAVX512 whether they
// also support the AVX-512 F and DQ instructions of its AVX-512 kernels.
var haveAVX2FMA, haveAVX512 = detectAVX2FMA(), detectAVX512()

// detectAVX512 requires AVX2/FMA too, and that the OS saves the opmask and
// all 512-bit registers (XCR0 bits 5-7).
func detectAVX512() bool {
	if !detectAVX2FMA() {
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&0xe6 != 0xe6 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	const avx512f, avx512dq = 1 << 16, 1 << 17
	return ebx7&(avx512f|avx512dq) == avx512f|avx512dq
}

func detectAVX2FMA() bool {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const (
		fma     = 1 << 12
		osxsave = 1 << 27
		avx     = 1 << 28
	)
	if ecx1&(fma|osxsave|avx) != fma|osxsave|avx {
		return false
	}
	// The OS must save the XMM and YMM registers on context switches.
	if xcr0, _ := xgetbv(); xcr0&6 != 6 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	const avx2 = 1 << 5
	return ebx7&avx2 != 0
}

// cpuid executes CPUID with the given EAX and ECX.
func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

// xgetbv returns XCR0 (XGETBV with ECX = 0).
func xgetbv() (eax, edx uint32)

// gemmNT2AVX2 computes two rows of gemmNT: rows a and a+lda of A against the
// first n rows of B (n a positive multiple of 4), writing c[0:n] and
// c[ldc:ldc+n]. k ≥ 1. Strides are in elements.
//
//go:noescape
func gemmNT2AVX2(k int, a *float32, lda int, b *float32, ldb int, n int, bias *float32, c *float32, ldc int)

// gemmNT1AVX2 computes one row of gemmNT (a matrix-vector product): c[j] for
// j < n, n a positive multiple of 4.
//
//go:noescape
func gemmNT1AVX2(k int, a *float32, b *float32, ldb int, n int, bias *float32, c *float32)

// sigmoidAVX2 sets x[i] = σ(x[i]) for i < n, n a positive multiple of 4.
//
//go:noescape
func sigmoidAVX2(n int, x *float32, tab *[actTabLen][4]uint64)

// tanhAVX2 sets x[i] = tanh(x[i]) for i < n, n a positive multiple of 4.
//
//go:noescape
func tanhAVX2(n int, x *float32, tab *[actTabLen][4]uint64)

// sigmoidAVX512 is sigmoidAVX2 for n a positive multiple of 8, eight lanes
// at a time; the results are bit-identical.
//
//go:noescape
func sigmoidAVX512(n int, x *float32, tab *[actTabLen][4]uint64)

// tanhAVX512 is tanhAVX2 for n a positive multiple of 8, eight lanes at a
// time; the results are bit-identical.
//
//go:noescape
func tanhAVX512(n int, x *float32, tab *[actTabLen][4]uint64)

// gemmNT8AVX512 computes eight rows of gemmNT (rows a + r·lda, r < 8) like
// gemmNT2AVX2, with bit-identical results. n is a positive multiple of 4.
//
//go:noescape
func gemmNT8AVX512(k int, a *float32, lda int, b *float32, ldb int, n int, bias *float32, c *float32, ldc int)

// lstmCellAVX512 is lstmCell's vector path for one series in one call, H a
// positive multiple of 8; the results are bit-identical.
//
//go:noescape
func lstmCellAVX512(hid int, z *float32, c *float32, h *float32, tab *[actTabLen][4]uint64)

//go:build !purego

#include "textflag.h"

// Kernels of the serving step for amd64 with AVX2 and FMA. See kernel.go for
// what they compute and for the summation order they share with the portable
// code. Only 256-bit VEX instructions are used; each function ends with
// VZEROUPPER.

// func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL eaxArg+0(FP), AX
	MOVL ecxArg+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbv() (eax, edx uint32)
TEXT ·xgetbv(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET

// tailMask<>+4*(8-t) holds a VMASKMOVPS mask selecting the first t lanes.
DATA tailMask<>+0(SB)/4, $0xffffffff
DATA tailMask<>+4(SB)/4, $0xffffffff
DATA tailMask<>+8(SB)/4, $0xffffffff
DATA tailMask<>+12(SB)/4, $0xffffffff
DATA tailMask<>+16(SB)/4, $0xffffffff
DATA tailMask<>+20(SB)/4, $0xffffffff
DATA tailMask<>+24(SB)/4, $0xffffffff
DATA tailMask<>+28(SB)/4, $0xffffffff
DATA tailMask<>+32(SB)/4, $0
DATA tailMask<>+36(SB)/4, $0
DATA tailMask<>+40(SB)/4, $0
DATA tailMask<>+44(SB)/4, $0
DATA tailMask<>+48(SB)/4, $0
DATA tailMask<>+52(SB)/4, $0
DATA tailMask<>+56(SB)/4, $0
DATA tailMask<>+60(SB)/4, $0
GLOBL tailMask<>(SB), RODATA|NOPTR, $64

// REDUCE4 sums the eight lanes of each of a, b, c, d (clobbered) as
// ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)) and leaves the four sums, in order,
// in the low 128 bits of a; xt is a scratch XMM register.
#define REDUCE4(a, b, c, d, xa, xt) \
	VHADDPS b, a, a \
	VHADDPS d, c, c \
	VHADDPS c, a, a \
	VEXTRACTF128 $1, a, xt \
	VADDPS xt, xa, xa

// func gemmNT2AVX2(k int, a *float32, lda int, b *float32, ldb int, n int, bias *float32, c *float32, ldc int)
//
// Registers: R8 A row 0 (row 1 at +R9), R10 current group of four B rows
// (row r at R10 + r·R11), R12 bias, R13 C row 0 (row 1 at +BX), SI columns
// left, DI chunk counter, AX/CX/DX running pointers into A, B rows 0-1 and
// B rows 2-3. Y0-Y3 accumulate row 0 against B rows 0-3, Y4-Y7 row 1,
// Y8-Y11 hold B, Y12-Y13 hold A, Y15 the tail mask.
TEXT ·gemmNT2AVX2(SB), NOSPLIT, $0-72
	MOVQ a+8(FP), R8
	MOVQ lda+16(FP), R9
	SHLQ $2, R9
	MOVQ b+24(FP), R10
	MOVQ ldb+32(FP), R11
	SHLQ $2, R11
	MOVQ n+40(FP), SI
	MOVQ bias+48(FP), R12
	MOVQ c+56(FP), R13
	MOVQ ldc+64(FP), BX
	SHLQ $2, BX

	// Tail mask for the last k mod 8 elements.
	MOVQ k+0(FP), AX
	ANDQ $7, AX
	NEGQ AX
	ADDQ $8, AX
	LEAQ tailMask<>(SB), CX
	VMOVUPS (CX)(AX*4), Y15

group2:
	MOVQ R8, AX
	MOVQ R10, CX
	LEAQ (R10)(R11*2), DX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ k+0(FP), DI
	SHRQ $3, DI
	JZ   tail2

loop2:
	VMOVUPS (AX), Y12
	VMOVUPS (AX)(R9*1), Y13
	VMOVUPS (CX), Y8
	VMOVUPS (CX)(R11*1), Y9
	VMOVUPS (DX), Y10
	VMOVUPS (DX)(R11*1), Y11
	VFMADD231PS Y8, Y12, Y0
	VFMADD231PS Y9, Y12, Y1
	VFMADD231PS Y10, Y12, Y2
	VFMADD231PS Y11, Y12, Y3
	VFMADD231PS Y8, Y13, Y4
	VFMADD231PS Y9, Y13, Y5
	VFMADD231PS Y10, Y13, Y6
	VFMADD231PS Y11, Y13, Y7
	ADDQ $32, AX
	ADDQ $32, CX
	ADDQ $32, DX
	DECQ DI
	JNZ  loop2

tail2:
	MOVQ k+0(FP), DI
	ANDQ $7, DI
	JZ   reduce2
	VMASKMOVPS (AX), Y15, Y12
	MOVQ AX, DI
	ADDQ R9, DI
	VMASKMOVPS (DI), Y15, Y13
	VMASKMOVPS (CX), Y15, Y8
	MOVQ CX, DI
	ADDQ R11, DI
	VMASKMOVPS (DI), Y15, Y9
	VMASKMOVPS (DX), Y15, Y10
	MOVQ DX, DI
	ADDQ R11, DI
	VMASKMOVPS (DI), Y15, Y11
	VFMADD231PS Y8, Y12, Y0
	VFMADD231PS Y9, Y12, Y1
	VFMADD231PS Y10, Y12, Y2
	VFMADD231PS Y11, Y12, Y3
	VFMADD231PS Y8, Y13, Y4
	VFMADD231PS Y9, Y13, Y5
	VFMADD231PS Y10, Y13, Y6
	VFMADD231PS Y11, Y13, Y7

reduce2:
	REDUCE4(Y0, Y1, Y2, Y3, X0, X1)
	VADDPS  (R12), X0, X0
	VMOVUPS X0, (R13)
	REDUCE4(Y4, Y5, Y6, Y7, X4, X5)
	VADDPS  (R12), X4, X4
	VMOVUPS X4, (R13)(BX*1)

	LEAQ (R10)(R11*4), R10
	ADDQ $16, R12
	ADDQ $16, R13
	SUBQ $4, SI
	JNZ  group2
	VZEROUPPER
	RET

// func gemmNT1AVX2(k int, a *float32, b *float32, ldb int, n int, bias *float32, c *float32)
//
// As gemmNT2AVX2 for a single row of A (a matrix-vector product). Groups of
// eight B rows keep eight independent accumulators Y0-Y7 in flight (rows at
// CX, DX, BX, R9 and each +R11), B read as memory operands of the
// multiply-adds; a last group of four uses Y0-Y3.
TEXT ·gemmNT1AVX2(SB), NOSPLIT, $0-56
	MOVQ a+8(FP), R8
	MOVQ b+16(FP), R10
	MOVQ ldb+24(FP), R11
	SHLQ $2, R11
	MOVQ n+32(FP), SI
	MOVQ bias+40(FP), R12
	MOVQ c+48(FP), R13

	MOVQ k+0(FP), AX
	ANDQ $7, AX
	NEGQ AX
	ADDQ $8, AX
	LEAQ tailMask<>(SB), CX
	VMOVUPS (CX)(AX*4), Y15

	CMPQ SI, $8
	JLT  group1

group8:
	MOVQ R8, AX
	MOVQ R10, CX
	LEAQ (R10)(R11*2), DX
	LEAQ (DX)(R11*2), BX
	LEAQ (BX)(R11*2), R9
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ k+0(FP), DI
	SHRQ $3, DI
	JZ   tail8

loop8:
	VMOVUPS (AX), Y12
	VFMADD231PS (CX), Y12, Y0
	VFMADD231PS (CX)(R11*1), Y12, Y1
	VFMADD231PS (DX), Y12, Y2
	VFMADD231PS (DX)(R11*1), Y12, Y3
	VFMADD231PS (BX), Y12, Y4
	VFMADD231PS (BX)(R11*1), Y12, Y5
	VFMADD231PS (R9), Y12, Y6
	VFMADD231PS (R9)(R11*1), Y12, Y7
	ADDQ $32, AX
	ADDQ $32, CX
	ADDQ $32, DX
	ADDQ $32, BX
	ADDQ $32, R9
	DECQ DI
	JNZ  loop8

tail8:
	MOVQ k+0(FP), DI
	ANDQ $7, DI
	JZ   reduce8
	VMASKMOVPS (AX), Y15, Y12
	VMASKMOVPS (CX), Y15, Y8
	ADDQ R11, CX
	VMASKMOVPS (CX), Y15, Y9
	VMASKMOVPS (DX), Y15, Y10
	ADDQ R11, DX
	VMASKMOVPS (DX), Y15, Y11
	VFMADD231PS Y8, Y12, Y0
	VFMADD231PS Y9, Y12, Y1
	VFMADD231PS Y10, Y12, Y2
	VFMADD231PS Y11, Y12, Y3
	VMASKMOVPS (BX), Y15, Y8
	ADDQ R11, BX
	VMASKMOVPS (BX), Y15, Y9
	VMASKMOVPS (R9), Y15, Y10
	ADDQ R11, R9
	VMASKMOVPS (R9), Y15, Y11
	VFMADD231PS Y8, Y12, Y4
	VFMADD231PS Y9, Y12, Y5
	VFMADD231PS Y10, Y12, Y6
	VFMADD231PS Y11, Y12, Y7

reduce8:
	REDUCE4(Y0, Y1, Y2, Y3, X0, X1)
	VADDPS  (R12), X0, X0
	VMOVUPS X0, (R13)
	REDUCE4(Y4, Y5, Y6, Y7, X4, X5)
	VADDPS  16(R12), X4, X4
	VMOVUPS X4, 16(R13)

	LEAQ (R10)(R11*8), R10
	ADDQ $32, R12
	ADDQ $32, R13
	SUBQ $8, SI
	JZ   done1
	CMPQ SI, $8
	JGE  group8

group1:
	MOVQ R8, AX
	MOVQ R10, CX
	LEAQ (R10)(R11*2), DX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ k+0(FP), DI
	SHRQ $3, DI
	JZ   tail1

loop1:
	VMOVUPS (AX), Y12
	VFMADD231PS (CX), Y12, Y0
	VFMADD231PS (CX)(R11*1), Y12, Y1
	VFMADD231PS (DX), Y12, Y2
	VFMADD231PS (DX)(R11*1), Y12, Y3
	ADDQ $32, AX
	ADDQ $32, CX
	ADDQ $32, DX
	DECQ DI
	JNZ  loop1

tail1:
	MOVQ k+0(FP), DI
	ANDQ $7, DI
	JZ   reduce1
	VMASKMOVPS (AX), Y15, Y12
	VMASKMOVPS (CX), Y15, Y8
	MOVQ CX, DI
	ADDQ R11, DI
	VMASKMOVPS (DI), Y15, Y9
	VMASKMOVPS (DX), Y15, Y10
	MOVQ DX, DI
	ADDQ R11, DI
	VMASKMOVPS (DI), Y15, Y11
	VFMADD231PS Y8, Y12, Y0
	VFMADD231PS Y9, Y12, Y1
	VFMADD231PS Y10, Y12, Y2
	VFMADD231PS Y11, Y12, Y3

reduce1:
	REDUCE4(Y0, Y1, Y2, Y3, X0, X1)
	VADDPS  (R12), X0, X0
	VMOVUPS X0, (R13)

	LEAQ (R10)(R11*4), R10
	ADDQ $16, R12
	ADDQ $16, R13
	SUBQ $4, SI
	JNZ  group1

done1:
	VZEROUPPER
	RET

// Activations, four float64 lanes at a time. R10 points at actTab; the
// offsets below are its index·32. Y13 = 1, Y14 and Y15 the clamp bounds.
#define T_SHIFT 96(R10)
#define T_LOG2E 128(R10)
#define T_LN2HI 160(R10)
#define T_LN2LO 192(R10)
#define T_BIAS 224(R10)
#define T_SIGN 256(R10)
#define T_ABS 288(R10)
#define T_SMALL 320(R10)
#define T_M2 352(R10)
#define T_C2_15 384(R10)
#define T_CM1_3 416(R10)

// EXPPD sets r = e^x for the four lanes of x (clobbered), with t scratch:
// x is clamped to ±110 (a NaN passes through), split as n·ln2 + r' with n
// an integer (Cody-Waite, two-part ln2), e^r' comes from a degree-9
// polynomial (expPoly in kernel.go) and 2^n is built in the exponent field.
#define EXPPD(x, r, t) \
	VMAXPD x, Y14, x \
	VMINPD x, Y15, x \
	VMOVUPD T_SHIFT, t \
	VFMADD231PD T_LOG2E, x, t \
	VSUBPD T_SHIFT, t, r \
	VFNMADD231PD T_LN2HI, r, x \
	VFNMADD231PD T_LN2LO, r, x \
	VMOVUPD 736(R10), r \
	VFMADD213PD 704(R10), x, r \
	VFMADD213PD 672(R10), x, r \
	VFMADD213PD 640(R10), x, r \
	VFMADD213PD 608(R10), x, r \
	VFMADD213PD 576(R10), x, r \
	VFMADD213PD 544(R10), x, r \
	VFMADD213PD 512(R10), x, r \
	VFMADD213PD 480(R10), x, r \
	VFMADD213PD 448(R10), x, r \
	VPADDQ T_BIAS, t, t \
	VPSLLQ $52, t, t \
	VMULPD t, r, r

// SIGMOID4 replaces the four float32 at addr by σ of them: 1/(1+e^{-x})
// in float64, rounded once. Uses Y0-Y2.
#define SIGMOID4(addr) \
	VCVTPS2PD addr, Y0 \
	VXORPD T_SIGN, Y0, Y0 \
	EXPPD(Y0, Y1, Y2) \
	VADDPD Y13, Y1, Y1 \
	VDIVPD Y1, Y13, Y1 \
	VCVTPD2PSY Y1, X1 \
	VMOVUPS X1, addr

// TANH4 replaces the four float32 at addr by their tanh:
// (1-e^{-2x})/(1+e^{-2x}) in float64, or x - x³/3 + 2x⁵/15 where |x| < 2^-8
// (there the quotient would lose relative accuracy to cancellation; the
// series is exact to 1e-16), rounded once. Uses Y0-Y6.
#define TANH4(addr) \
	VCVTPS2PD addr, Y0 \
	VANDPD T_ABS, Y0, Y4 \
	VCMPPD $1, T_SMALL, Y4, Y4 \
	VMULPD Y0, Y0, Y6 \
	VMOVUPD T_C2_15, Y5 \
	VFMADD213PD T_CM1_3, Y6, Y5 \
	VMULPD Y6, Y5, Y5 \
	VFMADD213PD Y0, Y0, Y5 \
	VMULPD T_M2, Y0, Y0 \
	EXPPD(Y0, Y1, Y2) \
	VSUBPD Y1, Y13, Y3 \
	VADDPD Y13, Y1, Y1 \
	VDIVPD Y1, Y3, Y3 \
	VBLENDVPD Y4, Y5, Y3, Y3 \
	VCVTPD2PSY Y3, X3 \
	VMOVUPS X3, addr

// func sigmoidAVX2(n int, x *float32, tab *[actTabLen][4]uint64)
//
// x[i] = σ(x[i]) for i < n, n a positive multiple of 4. The iterations are
// independent, so the processor overlaps their long dependency chains.
TEXT ·sigmoidAVX2(SB), NOSPLIT, $0-24
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), AX
	MOVQ tab+16(FP), R10
	VMOVUPD 0(R10), Y13
	VMOVUPD 32(R10), Y14
	VMOVUPD 64(R10), Y15

sigloop:
	SIGMOID4((AX))
	ADDQ $16, AX
	SUBQ $4, CX
	JNZ  sigloop
	VZEROUPPER
	RET

// func tanhAVX2(n int, x *float32, tab *[actTabLen][4]uint64)
//
// x[i] = tanh(x[i]) for i < n, n a positive multiple of 4.
TEXT ·tanhAVX2(SB), NOSPLIT, $0-24
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), AX
	MOVQ tab+16(FP), R10
	VMOVUPD 0(R10), Y13
	VMOVUPD 32(R10), Y14
	VMOVUPD 64(R10), Y15

tanhloop:
	TANH4((AX))
	ADDQ $16, AX
	SUBQ $4, CX
	JNZ  tanhloop
	VZEROUPPER
	RET

// AVX-512 versions of the activations: eight float64 lanes, the same
// operations per lane as the AVX2 macros above (constants broadcast from
// the same table), so the results are bit-identical. Z13 = 1, Z14 and Z15
// the clamp bounds.

#define EXPPD8(x, r, t) \
	VMAXPD x, Z14, x \
	VMINPD x, Z15, x \
	VBROADCASTSD T_SHIFT, t \
	VFMADD231PD.BCST T_LOG2E, x, t \
	VSUBPD.BCST T_SHIFT, t, r \
	VFNMADD231PD.BCST T_LN2HI, r, x \
	VFNMADD231PD.BCST T_LN2LO, r, x \
	VBROADCASTSD 736(R10), r \
	VFMADD213PD.BCST 704(R10), x, r \
	VFMADD213PD.BCST 672(R10), x, r \
	VFMADD213PD.BCST 640(R10), x, r \
	VFMADD213PD.BCST 608(R10), x, r \
	VFMADD213PD.BCST 576(R10), x, r \
	VFMADD213PD.BCST 544(R10), x, r \
	VFMADD213PD.BCST 512(R10), x, r \
	VFMADD213PD.BCST 480(R10), x, r \
	VFMADD213PD.BCST 448(R10), x, r \
	VPADDQ.BCST T_BIAS, t, t \
	VPSLLQ $52, t, t \
	VMULPD t, r, r

#define SIGMOID8(addr) \
	VCVTPS2PD addr, Z0 \
	VPXORQ.BCST T_SIGN, Z0, Z0 \
	EXPPD8(Z0, Z1, Z2) \
	VADDPD Z13, Z1, Z1 \
	VDIVPD Z1, Z13, Z1 \
	VCVTPD2PS Z1, Y1 \
	VMOVUPS Y1, addr

#define TANH8(addr) \
	VCVTPS2PD addr, Z0 \
	VPANDQ.BCST T_ABS, Z0, Z4 \
	VCMPPD.BCST $1, T_SMALL, Z4, K1 \
	VMULPD Z0, Z0, Z6 \
	VBROADCASTSD T_C2_15, Z5 \
	VFMADD213PD.BCST T_CM1_3, Z6, Z5 \
	VMULPD Z6, Z5, Z5 \
	VFMADD213PD Z0, Z0, Z5 \
	VMULPD.BCST T_M2, Z0, Z0 \
	EXPPD8(Z0, Z1, Z2) \
	VSUBPD Z1, Z13, Z3 \
	VADDPD Z13, Z1, Z1 \
	VDIVPD Z1, Z3, Z3 \
	VBLENDMPD Z5, Z3, K1, Z3 \
	VCVTPD2PS Z3, Y3 \
	VMOVUPS Y3, addr

// func sigmoidAVX512(n int, x *float32, tab *[actTabLen][4]uint64)
//
// x[i] = σ(x[i]) for i < n, n a positive multiple of 8.
TEXT ·sigmoidAVX512(SB), NOSPLIT, $0-24
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), AX
	MOVQ tab+16(FP), R10
	VBROADCASTSD 0(R10), Z13
	VBROADCASTSD 32(R10), Z14
	VBROADCASTSD 64(R10), Z15

sig8loop:
	SIGMOID8((AX))
	ADDQ $32, AX
	SUBQ $8, CX
	JNZ  sig8loop
	VZEROUPPER
	RET

// func tanhAVX512(n int, x *float32, tab *[actTabLen][4]uint64)
//
// x[i] = tanh(x[i]) for i < n, n a positive multiple of 8.
TEXT ·tanhAVX512(SB), NOSPLIT, $0-24
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), AX
	MOVQ tab+16(FP), R10
	VBROADCASTSD 0(R10), Z13
	VBROADCASTSD 32(R10), Z14
	VBROADCASTSD 64(R10), Z15

tanh8loop:
	TANH8((AX))
	ADDQ $32, AX
	SUBQ $8, CX
	JNZ  tanh8loop
	VZEROUPPER
	RET

// REDUCEPAIR reduces four accumulators a-d of gemmNT8AVX512, each holding
// the eight lane sums of one B row against two A rows (low and high 256
// bits), with the tree of REDUCE4 (VHADDPS emulated by even plus odd
// shuffles, which adds the same pairs), adds the bias in Z12 and leaves the
// four results of the low row in X10 and of the high row in lane 2 of Z10.
// Uses Z8-Z11.
#define REDUCEPAIR(a, b, c, d) \
	VSHUFPS $0x88, b, a, Z8 \
	VSHUFPS $0xdd, b, a, Z9 \
	VADDPS Z9, Z8, Z8 \
	VSHUFPS $0x88, d, c, Z9 \
	VSHUFPS $0xdd, d, c, Z10 \
	VADDPS Z10, Z9, Z9 \
	VSHUFPS $0x88, Z9, Z8, Z10 \
	VSHUFPS $0xdd, Z9, Z8, Z11 \
	VADDPS Z11, Z10, Z10 \
	VSHUFF32X4 $0xb1, Z10, Z10, Z11 \
	VADDPS Z11, Z10, Z10 \
	VADDPS Z12, Z10, Z10

// func gemmNT8AVX512(k int, a *float32, lda int, b *float32, ldb int, n int, bias *float32, c *float32, ldc int)
//
// Eight rows of gemmNT (rows a + r·lda, r < 8) against the first n rows of
// B, n a positive multiple of 4. Rows 2p and 2p+1 share one 512-bit
// register (A rows at AX, BX, DX, DI and each +R9), each group of four B
// rows is broadcast to both halves (rows at CX, SI and each +R11), so every
// half accumulates exactly as gemmNT2AVX2 does, in Z16-Z31: the results are
// bit-identical to the AVX2 kernels. R14 counts chunks, R15 columns left.
TEXT ·gemmNT8AVX512(SB), NOSPLIT, $0-72
	MOVQ a+8(FP), R8
	MOVQ lda+16(FP), R9
	SHLQ $2, R9
	MOVQ b+24(FP), R10
	MOVQ ldb+32(FP), R11
	SHLQ $2, R11
	MOVQ n+40(FP), R15
	MOVQ bias+48(FP), R12
	MOVQ c+56(FP), R13

	MOVQ k+0(FP), AX
	ANDQ $7, AX
	NEGQ AX
	ADDQ $8, AX
	LEAQ tailMask<>(SB), CX
	VMOVUPS (CX)(AX*4), Y15

group8x4:
	MOVQ R8, AX
	LEAQ (AX)(R9*2), BX
	LEAQ (BX)(R9*2), DX
	LEAQ (DX)(R9*2), DI
	MOVQ R10, CX
	LEAQ (CX)(R11*2), SI
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27
	VPXORD Z28, Z28, Z28
	VPXORD Z29, Z29, Z29
	VPXORD Z30, Z30, Z30
	VPXORD Z31, Z31, Z31
	MOVQ k+0(FP), R14
	SHRQ $3, R14
	JZ   tail8x4

loop8x4:
	VMOVUPS (AX), Y0
	VINSERTF32X8 $1, (AX)(R9*1), Z0, Z0
	VMOVUPS (BX), Y1
	VINSERTF32X8 $1, (BX)(R9*1), Z1, Z1
	VMOVUPS (DX), Y2
	VINSERTF32X8 $1, (DX)(R9*1), Z2, Z2
	VMOVUPS (DI), Y3
	VINSERTF32X8 $1, (DI)(R9*1), Z3, Z3
	VBROADCASTF32X8 (CX), Z4
	VBROADCASTF32X8 (CX)(R11*1), Z5
	VBROADCASTF32X8 (SI), Z6
	VBROADCASTF32X8 (SI)(R11*1), Z7
	VFMADD231PS Z4, Z0, Z16
	VFMADD231PS Z5, Z0, Z17
	VFMADD231PS Z6, Z0, Z18
	VFMADD231PS Z7, Z0, Z19
	VFMADD231PS Z4, Z1, Z20
	VFMADD231PS Z5, Z1, Z21
	VFMADD231PS Z6, Z1, Z22
	VFMADD231PS Z7, Z1, Z23
	VFMADD231PS Z4, Z2, Z24
	VFMADD231PS Z5, Z2, Z25
	VFMADD231PS Z6, Z2, Z26
	VFMADD231PS Z7, Z2, Z27
	VFMADD231PS Z4, Z3, Z28
	VFMADD231PS Z5, Z3, Z29
	VFMADD231PS Z6, Z3, Z30
	VFMADD231PS Z7, Z3, Z31
	ADDQ $32, AX
	ADDQ $32, BX
	ADDQ $32, DX
	ADDQ $32, DI
	ADDQ $32, CX
	ADDQ $32, SI
	DECQ R14
	JNZ  loop8x4

tail8x4:
	MOVQ k+0(FP), R14
	ANDQ $7, R14
	JZ   reduce8x4
	VMASKMOVPS (AX), Y15, Y0
	VMASKMOVPS (AX)(R9*1), Y15, Y8
	VINSERTF32X8 $1, Y8, Z0, Z0
	VMASKMOVPS (BX), Y15, Y1
	VMASKMOVPS (BX)(R9*1), Y15, Y9
	VINSERTF32X8 $1, Y9, Z1, Z1
	VMASKMOVPS (DX), Y15, Y2
	VMASKMOVPS (DX)(R9*1), Y15, Y10
	VINSERTF32X8 $1, Y10, Z2, Z2
	VMASKMOVPS (DI), Y15, Y3
	VMASKMOVPS (DI)(R9*1), Y15, Y11
	VINSERTF32X8 $1, Y11, Z3, Z3
	VMASKMOVPS (CX), Y15, Y4
	VSHUFF32X4 $0x44, Z4, Z4, Z4
	VMASKMOVPS (CX)(R11*1), Y15, Y5
	VSHUFF32X4 $0x44, Z5, Z5, Z5
	VMASKMOVPS (SI), Y15, Y6
	VSHUFF32X4 $0x44, Z6, Z6, Z6
	VMASKMOVPS (SI)(R11*1), Y15, Y7
	VSHUFF32X4 $0x44, Z7, Z7, Z7
	VFMADD231PS Z4, Z0, Z16
	VFMADD231PS Z5, Z0, Z17
	VFMADD231PS Z6, Z0, Z18
	VFMADD231PS Z7, Z0, Z19
	VFMADD231PS Z4, Z1, Z20
	VFMADD231PS Z5, Z1, Z21
	VFMADD231PS Z6, Z1, Z22
	VFMADD231PS Z7, Z1, Z23
	VFMADD231PS Z4, Z2, Z24
	VFMADD231PS Z5, Z2, Z25
	VFMADD231PS Z6, Z2, Z26
	VFMADD231PS Z7, Z2, Z27
	VFMADD231PS Z4, Z3, Z28
	VFMADD231PS Z5, Z3, Z29
	VFMADD231PS Z6, Z3, Z30
	VFMADD231PS Z7, Z3, Z31

reduce8x4:
	VBROADCASTF32X4 (R12), Z12
	MOVQ ldc+64(FP), AX
	SHLQ $2, AX
	LEAQ (R13)(AX*2), BX
	LEAQ (BX)(AX*2), DX
	LEAQ (DX)(AX*2), DI
	REDUCEPAIR(Z16, Z17, Z18, Z19)
	VMOVUPS X10, (R13)
	VEXTRACTF32X4 $2, Z10, X11
	VMOVUPS X11, (R13)(AX*1)
	REDUCEPAIR(Z20, Z21, Z22, Z23)
	VMOVUPS X10, (BX)
	VEXTRACTF32X4 $2, Z10, X11
	VMOVUPS X11, (BX)(AX*1)
	REDUCEPAIR(Z24, Z25, Z26, Z27)
	VMOVUPS X10, (DX)
	VEXTRACTF32X4 $2, Z10, X11
	VMOVUPS X11, (DX)(AX*1)
	REDUCEPAIR(Z28, Z29, Z30, Z31)
	VMOVUPS X10, (DI)
	VEXTRACTF32X4 $2, Z10, X11
	VMOVUPS X11, (DI)(AX*1)

	LEAQ (R10)(R11*4), R10
	ADDQ $16, R12
	ADDQ $16, R13
	SUBQ $4, R15
	JNZ  group8x4
	VZEROUPPER
	RET

// func lstmCellAVX512(hid int, z *float32, c *float32, h *float32, tab *[actTabLen][4]uint64)
//
// The whole cell update of one series in one call, for H = hid a positive
// multiple of 8: σ in place over the i and f blocks of z, tanh over g, σ
// over o (as sigmoidAVX512 and tanhAVX512), then for each unit
// c = f·c + i·g (two products and a sum, each rounded) and h = o·tanh(c),
// eight units at a time: the same operations as lstmCell's vector path.
TEXT ·lstmCellAVX512(SB), NOSPLIT, $0-40
	MOVQ hid+0(FP), BX
	MOVQ z+8(FP), AX
	MOVQ c+16(FP), R8
	MOVQ h+24(FP), R9
	MOVQ tab+32(FP), R10
	VBROADCASTSD 0(R10), Z13
	VBROADCASTSD 32(R10), Z14
	VBROADCASTSD 64(R10), Z15

	MOVQ AX, DX
	LEAQ (BX)(BX*1), CX

cellsigif:
	SIGMOID8((DX))
	ADDQ $32, DX
	SUBQ $8, CX
	JNZ  cellsigif
	MOVQ BX, CX

celltanhg:
	TANH8((DX))
	ADDQ $32, DX
	SUBQ $8, CX
	JNZ  celltanhg
	MOVQ BX, CX

cellsigo:
	SIGMOID8((DX))
	ADDQ $32, DX
	SUBQ $8, CX
	JNZ  cellsigo

	// AX: i (f at +BX), DX: g (o at +BX), BX: H in bytes.
	MOVQ BX, CX
	SHLQ $2, BX
	LEAQ (AX)(BX*2), DX

cellupdate:
	VMOVUPS (R8), Y8
	VMULPS  (AX)(BX*1), Y8, Y8
	VMOVUPS (AX), Y9
	VMULPS  (DX), Y9, Y9
	VADDPS  Y9, Y8, Y8
	VMOVUPS Y8, (R8)
	VMOVUPS Y8, (R9)
	TANH8((R9))
	VMOVUPS (R9), Y9
	VMULPS  (DX)(BX*1), Y9, Y9
	VMOVUPS Y9, (R9)
	ADDQ $32, AX
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, R9
	SUBQ $8, CX
	JNZ  cellupdate
	VZEROUPPER
	RET

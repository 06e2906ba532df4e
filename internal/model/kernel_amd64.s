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

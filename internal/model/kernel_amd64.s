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
// As gemmNT2AVX2 for a single row of A; Y0-Y3 accumulate, B is read as
// memory operands of the multiply-adds.
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
// an integer (Cody-Waite, two-part ln2), e^r' comes from its degree-11
// Taylor polynomial and 2^n is built in the exponent field.
#define EXPPD(x, r, t) \
	VMAXPD x, Y14, x \
	VMINPD x, Y15, x \
	VMOVUPD T_SHIFT, t \
	VFMADD231PD T_LOG2E, x, t \
	VSUBPD T_SHIFT, t, r \
	VFNMADD231PD T_LN2HI, r, x \
	VFNMADD231PD T_LN2LO, r, x \
	VMOVUPD 800(R10), r \
	VFMADD213PD 768(R10), x, r \
	VFMADD213PD 736(R10), x, r \
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

// SIGMOID sets the float32 XMM out to σ of the four float32 at addr:
// 1/(1+e^{-x}) in float64, rounded once. Uses Y0-Y2.
#define SIGMOID(addr, out) \
	VCVTPS2PD addr, Y0 \
	VXORPD T_SIGN, Y0, Y0 \
	EXPPD(Y0, Y1, Y2) \
	VADDPD Y13, Y1, Y1 \
	VDIVPD Y1, Y13, Y1 \
	VCVTPD2PSY Y1, out

// TANH sets the float32 XMM out to tanh of the four float64 lanes of Y0:
// (1-e^{-2x})/(1+e^{-2x}), or x - x³/3 + 2x⁵/15 where |x| < 2^-8 (there the
// quotient would lose relative accuracy to cancellation, the series is
// exact to 1e-16). Uses Y0-Y6.
#define TANH(out) \
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
	VCVTPD2PSY Y3, out

// func lstmCellAVX2(units int, z *float32, hid int, c *float32, h *float32, tab *[actTabLen][4]uint64)
//
// AX walks the i block of z (f at +BX), DX the g block (o at +BX), R8 c,
// R9 h, CX counts units. X8-X11 hold i, f, g, o; X12 the new c.
TEXT ·lstmCellAVX2(SB), NOSPLIT, $0-48
	MOVQ units+0(FP), CX
	MOVQ z+8(FP), AX
	MOVQ hid+16(FP), BX
	SHLQ $2, BX
	MOVQ c+24(FP), R8
	MOVQ h+32(FP), R9
	MOVQ tab+40(FP), R10
	LEAQ (AX)(BX*2), DX
	VMOVUPD 0(R10), Y13
	VMOVUPD 32(R10), Y14
	VMOVUPD 64(R10), Y15

cell:
	SIGMOID((AX), X8)
	SIGMOID((AX)(BX*1), X9)
	VCVTPS2PD (DX), Y0
	TANH(X10)
	SIGMOID((DX)(BX*1), X11)

	// c = f·c + i·g, each product rounded, then the sum.
	VMOVUPS (R8), X12
	VMULPS  X12, X9, X12
	VMULPS  X10, X8, X10
	VADDPS  X10, X12, X12
	VMOVUPS X12, (R8)

	// h = o·tanh(c)
	VCVTPS2PD X12, Y0
	TANH(X3)
	VMULPS  X3, X11, X3
	VMOVUPS X3, (R9)

	ADDQ $16, AX
	ADDQ $16, DX
	ADDQ $16, R8
	ADDQ $16, R9
	SUBQ $4, CX
	JNZ  cell
	VZEROUPPER
	RET

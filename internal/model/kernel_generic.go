//go:build !amd64 || purego

package model

// haveAVX2FMA and haveAVX512 are false off amd64 and with the purego build
// tag: only the portable kernels exist.
const haveAVX2FMA, haveAVX512 = false, false

func gemmNT2AVX2(k int, a *float32, lda int, b *float32, ldb int, n int, bias *float32, c *float32, ldc int) {
	panic("model: no AVX2 kernels on this architecture")
}

func gemmNT1AVX2(k int, a *float32, b *float32, ldb int, n int, bias *float32, c *float32) {
	panic("model: no AVX2 kernels on this architecture")
}

func sigmoidAVX2(n int, x *float32, tab *[actTabLen][4]uint64) {
	panic("model: no AVX2 kernels on this architecture")
}

func tanhAVX2(n int, x *float32, tab *[actTabLen][4]uint64) {
	panic("model: no AVX2 kernels on this architecture")
}

func sigmoidAVX512(n int, x *float32, tab *[actTabLen][4]uint64) {
	panic("model: no AVX-512 kernels on this architecture")
}

func tanhAVX512(n int, x *float32, tab *[actTabLen][4]uint64) {
	panic("model: no AVX-512 kernels on this architecture")
}

func gemmNT8AVX512(k int, a *float32, lda int, b *float32, ldb int, n int, bias *float32, c *float32, ldc int) {
	panic("model: no AVX-512 kernels on this architecture")
}

func lstmCellAVX512(hid int, z *float32, c *float32, h *float32, tab *[actTabLen][4]uint64) {
	panic("model: no AVX-512 kernels on this architecture")
}

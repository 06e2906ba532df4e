package model

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// Every benchmark line carries ns/series-step, allocations and GFLOP/s.
// FLOPs count 2 per multiply-add of the gate products and the head,
// Σ_l 2·4H_l·(In_l+H_l) + 2·Out·H_last per series-step; the element-wise
// cell update (5 transcendental functions per unit) is not counted, so the
// figure understates the work done.

// benchModels are the candidate default (1×32; 1×64 until the trainer
// settles it) and the larger 2×64, each with 5 inputs (value + 4 calendar
// features) and 1 output.
var benchModels = []struct {
	name   string
	hidden []int
}{
	{"1x32", []int{32}},
	{"1x64", []int{64}},
	{"2x64", []int{64, 64}},
}

const benchInputs, benchOutputs = 5, 1

// stepFLOPs returns the FLOPs of one series-step, counted as above.
func stepFLOPs(n *Network) float64 {
	f := 0
	for _, ly := range n.Layers {
		f += 2 * 4 * ly.Hidden * (ly.In + ly.Hidden)
	}
	return float64(f + 2*n.Head.Out*n.Head.In)
}

// reportStep reports wall ns/series-step and GFLOP/s, and the CPU time per
// series-step (cpu0: the process CPU time when the timed loop started),
// which excludes the time other processes held the core.
func reportStep(b *testing.B, n *Network, series int, cpu0 time.Duration) {
	cpu := cpuTime() - cpu0
	steps := float64(b.N) * float64(series)
	ns := float64(b.Elapsed().Nanoseconds())
	b.ReportMetric(ns/steps, "ns/series-step")
	b.ReportMetric(stepFLOPs(n)*steps/ns, "GFLOP/s")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/steps, "cpu-ns/series-step")
		b.ReportMetric(stepFLOPs(n)*steps/float64(cpu.Nanoseconds()), "cpu-GFLOP/s")
	}
}

// benchKernels lists the kernel sets this CPU runs, best first.
func benchKernels() []kernelSet {
	var ks []kernelSet
	if haveAVX512 {
		ks = append(ks, kernAVX512)
	}
	if haveAVX2FMA {
		ks = append(ks, kernAVX2)
	}
	return append(ks, kernGeneric)
}

// BenchmarkStep steps one series at a time with a Stepper.
func BenchmarkStep(b *testing.B) {
	for _, m := range benchModels {
		for _, ks := range benchKernels() {
			b.Run(fmt.Sprintf("model=%s/kernel=%v", m.name, ks), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 2))
				n := randNetwork(rng, benchInputs, m.hidden, benchOutputs)
				s := randState(rng, n)
				x := randVec(rng, benchInputs, 1)
				y := make([]float32, benchOutputs)
				var st Stepper
				st.b.ks = ks
				st.Step(n, s, x, y)
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cpuTime()
				for b.Loop() {
					st.Step(n, s, x, y)
				}
				reportStep(b, n, 1, cpu0)
			})
		}
	}
}

// BenchmarkNetworkStep is BenchmarkStep through Network.Step (stack scratch).
func BenchmarkNetworkStep(b *testing.B) {
	for _, m := range benchModels {
		b.Run("model="+m.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			n := randNetwork(rng, benchInputs, m.hidden, benchOutputs)
			s := randState(rng, n)
			x := randVec(rng, benchInputs, 1)
			y := make([]float32, benchOutputs)
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				n.Step(s, x, y)
			}
			reportStep(b, n, 1, cpu0)
		})
	}
}

// BenchmarkStepBatch steps a batch of distinct series per call.
func BenchmarkStepBatch(b *testing.B) {
	for _, m := range benchModels {
		for _, size := range []int{1, 64, 256} {
			for _, ks := range benchKernels() {
				b.Run(fmt.Sprintf("model=%s/batch=%d/kernel=%v", m.name, size, ks), func(b *testing.B) {
					rng := rand.New(rand.NewPCG(3, 4))
					n := randNetwork(rng, benchInputs, m.hidden, benchOutputs)
					states := make([]*State, size)
					for i := range states {
						states[i] = randState(rng, n)
					}
					xs := randVec(rng, size*benchInputs, 1)
					ys := make([]float32, size*benchOutputs)
					var bt Batch
					bt.ks = ks
					bt.Step(n, states, xs, ys)
					b.ReportAllocs()
					b.ResetTimer()
					cpu0 := cpuTime()
					for b.Loop() {
						bt.Step(n, states, xs, ys)
					}
					reportStep(b, n, size, cpu0)
				})
			}
		}
	}
}

// BenchmarkGateProduct compares the gate product alone, Z = XH·Wᵀ + B for
// the second layer of the 2×64 model (W 256×128), between the kernel used by
// the step and gonum's float32 BLAS (Sgemv for one series, Sgemm for a
// batch; the bias is then added separately, which gonum does not fuse).
func BenchmarkGateProduct(b *testing.B) {
	const H, K = 64, 128
	rng := rand.New(rand.NewPCG(5, 6))
	w := randVec(rng, 4*H*K, 0.1)
	bias := randVec(rng, 4*H, 0.1)
	for _, m := range []int{1, 256} {
		xh := randVec(rng, m*K, 1)
		z := make([]float32, m*4*H)
		flops := float64(2 * 4 * H * K * m)
		report := func(b *testing.B, cpu0 time.Duration) {
			if cpu := cpuTime() - cpu0; cpu > 0 {
				b.ReportMetric(flops*float64(b.N)/float64(cpu.Nanoseconds()), "cpu-GFLOP/s")
			}
			ns := float64(b.Elapsed().Nanoseconds())
			b.ReportMetric(ns/float64(b.N)/float64(m), "ns/series-step")
			b.ReportMetric(flops*float64(b.N)/ns, "GFLOP/s")
		}
		for _, ks := range benchKernels() {
			b.Run(fmt.Sprintf("batch=%d/kernel=%v", m, ks), func(b *testing.B) {
				b.ReportAllocs()
				cpu0 := cpuTime()
				for b.Loop() {
					gemmNT(ks, m, 4*H, K, xh, K, w, K, bias, z, 4*H)
				}
				report(b, cpu0)
			})
		}
		b.Run(fmt.Sprintf("batch=%d/kernel=gonum", m), func(b *testing.B) {
			W := blas32.General{Rows: 4 * H, Cols: K, Stride: K, Data: w}
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				if m == 1 {
					copy(z, bias)
					blas32.Gemv(blas.NoTrans, 1, W, blas32.Vector{N: K, Inc: 1, Data: xh}, 1, blas32.Vector{N: 4 * H, Inc: 1, Data: z})
					continue
				}
				for i := 0; i < m; i++ {
					copy(z[i*4*H:(i+1)*4*H], bias)
				}
				blas32.Gemm(blas.NoTrans, blas.Trans, 1,
					blas32.General{Rows: m, Cols: K, Stride: K, Data: xh}, W,
					1, blas32.General{Rows: m, Cols: 4 * H, Stride: 4 * H, Data: z})
			}
			report(b, cpu0)
		})
	}
}

package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// u is the unit roundoff of float32.
const u = 0x1p-24

// gamma is Higham's γ_m = m·u/(1-m·u), the relative error bound of m
// rounded float32 operations in sequence.
func gamma(m int) float64 { return float64(m) * u / (1 - float64(m)*u) }

// randNetwork returns a network with torch.nn.LSTM's default initialisation:
// every weight and bias uniform in ±1/√H (non-zero, as real weights are).
func randNetwork(rng *rand.Rand, in int, hidden []int, out int) *Network {
	n := NewNetwork(in, hidden, out)
	fill := func(w []float32, h int) {
		k := 1 / math.Sqrt(float64(h))
		for i := range w {
			w[i] = float32((2*rng.Float64() - 1) * k)
		}
	}
	for l := range n.Layers {
		fill(n.Layers[l].W, n.Layers[l].Hidden)
		fill(n.Layers[l].B, n.Layers[l].Hidden)
	}
	fill(n.Head.W, n.Head.In)
	fill(n.Head.B, n.Head.In)
	return n
}

func randVec(rng *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32((2*rng.Float64() - 1) * scale)
	}
	return v
}

// randState returns a state of n with h in (-1, 1) and c in (-3, 3), as a
// running series has.
func randState(rng *rand.Rand, n *Network) *State {
	s := n.NewState()
	for l := range s.H {
		copy(s.H[l], randVec(rng, len(s.H[l]), 1))
		copy(s.C[l], randVec(rng, len(s.C[l]), 3))
	}
	return s
}

// kernelSets lists the kernel sets this CPU can run.
func kernelSets() []kernelSet {
	ks := []kernelSet{kernGeneric}
	if haveAVX2FMA {
		ks = append(ks, kernAVX2)
	}
	if haveAVX512 {
		ks = append(ks, kernAVX512)
	}
	return ks
}

var shapes = []struct {
	name   string
	in     int
	hidden []int
	out    int
}{
	{"5-1x32-1", 5, []int{32}, 1},
	{"5-1x64-1", 5, []int{64}, 1},
	{"5-2x64-1", 5, []int{64, 64}, 1},
	// Odd sizes exercise the kernels' tails: K mod 8 ≠ 0, H mod 4 ≠ 0, a
	// head wider than one output, one input, layers of unequal width.
	{"1-1x1-1", 1, []int{1}, 1},
	{"3-1x5-2", 3, []int{5}, 2},
	{"7-3x(13,4,9)-5", 7, []int{13, 4, 9}, 5},
	{"2-2x(8,12)-4", 2, []int{8, 12}, 4},
}

// ---- float64 reference -----------------------------------------------------

func sigmoid64(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// refLayer computes one layer step in float64 from the given (float32) input
// and state, returning z, c and h.
func refLayer(ly *LSTMLayer, x, h0, c0 []float64) (z, c, h []float64) {
	H, K := ly.Hidden, ly.In+ly.Hidden
	v := append(append([]float64{}, x...), h0...)
	z = make([]float64, 4*H)
	for r := range z {
		s := float64(ly.B[r])
		for j := 0; j < K; j++ {
			s += float64(ly.W[r*K+j]) * v[j]
		}
		z[r] = s
	}
	c = make([]float64, H)
	h = make([]float64, H)
	for q := 0; q < H; q++ {
		i, f, g, o := sigmoid64(z[q]), sigmoid64(z[H+q]), math.Tanh(z[2*H+q]), sigmoid64(z[3*H+q])
		c[q] = f*c0[q] + i*g
		h[q] = o * math.Tanh(c[q])
	}
	return z, c, h
}

// refStep steps a float64 copy of a whole network state.
func refStep(n *Network, hs, cs [][]float64, x []float64) []float64 {
	in := x
	for l := range n.Layers {
		_, c, h := refLayer(&n.Layers[l], in, hs[l], cs[l])
		hs[l], cs[l] = h, c
		in = h
	}
	return refHead(&n.Head, in)
}

func refHead(d *Dense, h []float64) []float64 {
	y := make([]float64, d.Out)
	for r := range y {
		s := float64(d.B[r])
		for j := 0; j < d.In; j++ {
			s += float64(d.W[r*d.In+j]) * h[j]
		}
		y[r] = s
	}
	return y
}

func to64(v []float32) []float64 {
	w := make([]float64, len(v))
	for i, x := range v {
		w[i] = float64(x)
	}
	return w
}

func clone(n *Network, s *State) *State {
	t := n.NewState()
	t.CopyFrom(s)
	return t
}

// dotBound is the forward error bound of a float32 dot product of length k
// plus bias as the kernels compute it: each lane sums ⌈k/8⌉ products, three
// levels of pairwise reduction and the bias follow, so every product and
// the bias pass through at most ⌈k/8⌉+4 roundings:
//
//	|ẑ - z| ≤ γ_{⌈k/8⌉+4} · (Σ|w_j v_j| + |b|).
func dotBound(k int, absSum float64) float64 { return gamma((k+7)/8+4) * absSum }

// TestStepMatchesFloat64Reference checks every layer of one step, for random
// states, against the formulas of network.go evaluated in float64 from the
// same float32 inputs, with a rigorous first-order bound per element:
//
//	δz from dotBound; δσ ≤ δz/4 + u, δtanh ≤ δz + u (the activation is
//	within half an ulp ≤ u of a value ≤ 1, the derivative of σ is ≤ 1/4);
//	δc ≤ |c₀|δf + |g|δi + |i|δg + 2u(|f c₀| + |i g|) (two products, one sum);
//	δh ≤ |tanh c|δo + |o|(δc + u) + 2u.
//
// Layer l > 0 is fed the float32 h that the step computed for layer l-1, so
// each layer is checked on its own; the head likewise with dotBound.
func TestStepMatchesFloat64Reference(t *testing.T) {
	for _, sh := range shapes {
		for _, ks := range kernelSets() {
			t.Run(fmt.Sprintf("%s/%v", sh.name, ks), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(1, uint64(len(sh.name))))
				n := randNetwork(rng, sh.in, sh.hidden, sh.out)
				var b Batch
				b.ks = ks
				worst := 0.0 // largest error as a fraction of its bound
				trials := 50
				if raceEnabled {
					trials = 10
				}
				for trial := 0; trial < trials; trial++ {
					s := randState(rng, n)
					before := clone(n, s)
					x := randVec(rng, sh.in, 3)
					y := make([]float32, sh.out)
					b.Step(n, []*State{s}, x, y)

					in := to64(x)
					for l := range n.Layers {
						ly := &n.Layers[l]
						H, K := ly.Hidden, ly.In+ly.Hidden
						h0, c0 := to64(before.H[l]), to64(before.C[l])
						z, c, h := refLayer(ly, in, h0, c0)
						v := append(append([]float64{}, in...), h0...)
						for q := 0; q < H; q++ {
							dz := [4]float64{}
							for gate := 0; gate < 4; gate++ {
								r := gate*H + q
								abs := math.Abs(float64(ly.B[r]))
								for j := 0; j < K; j++ {
									abs += math.Abs(float64(ly.W[r*K+j]) * v[j])
								}
								dz[gate] = dotBound(K, abs)
							}
							i, f, g, o := sigmoid64(z[q]), sigmoid64(z[H+q]), math.Tanh(z[2*H+q]), sigmoid64(z[3*H+q])
							di, df, dg, do := dz[0]/4+u, dz[1]/4+u, dz[2]+u, dz[3]/4+u
							dc := math.Abs(c0[q])*df + math.Abs(g)*di + math.Abs(i)*dg + 2*u*(math.Abs(f*c0[q])+math.Abs(i*g))
							dh := math.Abs(math.Tanh(c[q]))*do + math.Abs(o)*(dc+u) + 2*u
							ec := math.Abs(float64(s.C[l][q]) - c[q])
							eh := math.Abs(float64(s.H[l][q]) - h[q])
							if ec > dc || eh > dh {
								t.Fatalf("trial %d layer %d unit %d: c %v want %v (err %.3g > bound %.3g?), h %v want %v (err %.3g > bound %.3g?)",
									trial, l, q, s.C[l][q], c[q], ec, dc, s.H[l][q], h[q], eh, dh)
							}
							worst = max(worst, ec/dc, eh/dh)
						}
						in = to64(s.H[l]) // the step's own h feeds the next layer
					}
					yr := refHead(&n.Head, in)
					for r := range yr {
						abs := math.Abs(float64(n.Head.B[r]))
						for j := 0; j < n.Head.In; j++ {
							abs += math.Abs(float64(n.Head.W[r*n.Head.In+j]) * in[j])
						}
						if e, bd := math.Abs(float64(y[r])-yr[r]), dotBound(n.Head.In, abs); e > bd {
							t.Fatalf("trial %d head %d: y %v want %v, err %.3g > bound %.3g", trial, r, y[r], yr[r], e, bd)
						} else {
							worst = max(worst, e/bd)
						}
					}
				}
				t.Logf("largest error: %.2f of its bound", worst)
			})
		}
	}
}

// TestStepLongRun carries a state for 2,000 steps and compares the whole
// trajectory with a float64 run of the same formulas (each carrying its own
// state, as the training graph and the consumer do). The float32 rounding of
// each step is propagated through the recurrence; with weights of torch's
// initial scale the recurrence is contractive and the trajectories stay
// within 1e-5 (the training parity target); the observed figure is logged.
func TestStepLongRun(t *testing.T) {
	for _, sh := range shapes[:3] {
		t.Run(sh.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(2, 3))
			n := randNetwork(rng, sh.in, sh.hidden, sh.out)
			s := n.NewState()
			hs, cs := make([][]float64, len(n.Layers)), make([][]float64, len(n.Layers))
			for l, ly := range n.Layers {
				hs[l], cs[l] = make([]float64, ly.Hidden), make([]float64, ly.Hidden)
			}
			var st Stepper
			y := make([]float32, sh.out)
			worst := 0.0
			steps := 2000
			if raceEnabled {
				steps = 200
			}
			for step := 0; step < steps; step++ {
				x := make([]float32, sh.in)
				x[0] = float32(math.Sin(float64(step)/10) + 0.3*rng.NormFloat64())
				for j := 1; j < sh.in; j++ {
					x[j] = float32(math.Sin(float64(step) / float64(7*j)))
				}
				st.Step(n, s, x, y)
				yr := refStep(n, hs, cs, to64(x))
				for l := range hs {
					for q := range hs[l] {
						worst = max(worst, math.Abs(float64(s.H[l][q])-hs[l][q]), math.Abs(float64(s.C[l][q])-cs[l][q]))
					}
				}
				for r := range yr {
					worst = max(worst, math.Abs(float64(y[r])-yr[r]))
				}
				if worst > 1e-5 {
					t.Fatalf("step %d: float32 and float64 trajectories differ by %.3g > 1e-5", step, worst)
				}
			}
			t.Logf("largest difference of h, c, y over %d steps: %.3g", steps, worst)
		})
	}
}

// TestBatchMatchesSingle: stepping series together (any batch size, any
// kernel set) gives bit-identical states and predictions to stepping each
// alone with Stepper.Step and Network.Step.
func TestBatchMatchesSingle(t *testing.T) {
	sizes := []int{1, 2, 3, 8, 33}
	if raceEnabled {
		sizes = []int{1, 3, 9}
	}
	for _, sh := range shapes {
		for _, ks := range kernelSets() {
			for _, m := range sizes {
				t.Run(fmt.Sprintf("%s/%v/batch=%d", sh.name, ks, m), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(4, uint64(m)))
					n := randNetwork(rng, sh.in, sh.hidden, sh.out)
					batch := make([]*State, m)
					single := make([]*State, m)
					viaNet := make([]*State, m)
					for i := range batch {
						batch[i] = randState(rng, n)
						single[i] = clone(n, batch[i])
						viaNet[i] = clone(n, batch[i])
					}
					var b Batch
					b.ks = ks
					var st Stepper
					st.b.ks = ks
					ys := make([]float32, m*sh.out)
					y1 := make([]float32, sh.out)
					y2 := make([]float32, sh.out)
					for step := 0; step < 5; step++ {
						xs := randVec(rng, m*sh.in, 2)
						b.Step(n, batch, xs, ys)
						for i := range single {
							x := xs[i*sh.in : (i+1)*sh.in]
							st.Step(n, single[i], x, y1)
							if ks == defaultKernels {
								n.Step(viaNet[i], x, y2)
								sameBits(t, "Network.Step y", y2, y1)
								sameState(t, viaNet[i], single[i])
							}
							sameBits(t, "y", ys[i*sh.out:(i+1)*sh.out], y1)
							sameState(t, batch[i], single[i])
						}
					}
				})
			}
		}
	}
}

func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s[%d] = %v, want bit-identical %v", what, i, got[i], want[i])
		}
	}
}

func sameState(t *testing.T, got, want *State) {
	t.Helper()
	for l := range want.H {
		sameBits(t, fmt.Sprintf("H[%d]", l), got.H[l], want.H[l])
		sameBits(t, fmt.Sprintf("C[%d]", l), got.C[l], want.C[l])
	}
}

// TestGemmKernelsAgree checks the AVX2 and portable gemmNT against float64
// with dotBound, over shapes that hit every tail of the vector kernel. The
// two differ only by fused versus separate multiply-add roundings.
func TestGemmKernelsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, m := range []int{1, 2, 3, 5, 8, 11, 17} {
		for _, n := range []int{1, 3, 4, 8, 12, 13, 16, 20} {
			for _, k := range []int{1, 2, 7, 8, 9, 16, 37, 69, 128} {
				t.Run(fmt.Sprintf("m=%d/n=%d/k=%d", m, n, k), func(t *testing.T) {
					lda, ldb, ldc := k+1, k+3, n+2 // strides wider than the rows
					a := randVec(rng, m*lda, 1)
					b := randVec(rng, n*ldb, 1)
					bias := randVec(rng, n, 1)
					var vec []float32 // the first vector kernel's result
					for _, ks := range kernelSets() {
						c := make([]float32, m*ldc)
						for i := range c {
							c[i] = 42 // the padding must stay untouched
						}
						gemmNT(ks, m, n, k, a, lda, b, ldb, bias, c, ldc)
						for i := 0; i < m; i++ {
							for j := 0; j < ldc; j++ {
								got := float64(c[i*ldc+j])
								if j >= n {
									if got != 42 {
										t.Fatalf("%v: wrote c[%d][%d] past n", ks, i, j)
									}
									continue
								}
								want, abs := float64(bias[j]), math.Abs(float64(bias[j]))
								for p := 0; p < k; p++ {
									pr := float64(a[i*lda+p]) * float64(b[j*ldb+p])
									want += pr
									abs += math.Abs(pr)
								}
								if e := math.Abs(got - want); e > dotBound(k, abs) {
									t.Fatalf("%v: c[%d][%d] = %v, want %v: error %.3g > bound %.3g", ks, i, j, got, want, e, dotBound(k, abs))
								}
							}
						}
						// The vector kernel sets share one summation order:
						// bit-identical.
						if ks != kernGeneric {
							if vec == nil {
								vec = c
							} else {
								sameBits(t, fmt.Sprintf("%v vs first vector kernel", ks), c, vec)
							}
						}
					}
				})
			}
		}
	}
}

// ulps returns |got - want| in float32 ulps of want.
func ulps(got float32, want float64) float64 {
	w := float32(want)
	if math.IsInf(want, 0) || math.IsNaN(want) || want == 0 {
		if float64(got) == want {
			return 0
		}
		return math.Abs(float64(got)-want) / math.SmallestNonzeroFloat32
	}
	ulp := float64(math.Nextafter32(float32(math.Abs(float64(w))), float32(math.Inf(1)))) - math.Abs(float64(w))
	return math.Abs(float64(got)-want) / ulp
}

// activations evaluates σ and tanh through lstmCell with inputs crafted so
// that the cell passes them through exactly: with c₀ = 0, i·g with
// g = tanh(100) = 1 yields σ(x) in c; with f = σ(100) = 1, i = σ(-200) = 0
// and o = 1, h = tanh(c₀) for c₀ = x.
func activations(ks kernelSet, xs []float32) (sig, th []float32) {
	H := len(xs)
	z := make([]float32, 4*H)
	c := make([]float32, H)
	h := make([]float32, H)
	for q, x := range xs {
		z[q], z[H+q], z[2*H+q], z[3*H+q] = x, 0, 100, 100
	}
	lstmCell(ks, z, c, h)
	sig = append([]float32{}, c...)
	for q, x := range xs {
		z[q], z[H+q], z[2*H+q], z[3*H+q] = -200, 100, 0, 100
		c[q] = x
	}
	lstmCell(ks, z, c, h)
	return sig, append([]float32{}, h...)
}

// activationInputs returns inputs across the whole float32 range of
// interest: uniform on [-30, 30], log-uniform magnitudes from 1e-12 to 120
// of both signs, and special values.
func activationInputs(rng *rand.Rand, n int) []float32 {
	xs := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 0x1p-8, -0x1p-8, 0x1.fffffep-9, 88.7, -88.7, -103.9, -104, 109, 111, -111, 1e30, -1e30,
		float32(math.Inf(1)), float32(math.Inf(-1)), math.SmallestNonzeroFloat32}
	for len(xs) < n {
		var x float64
		if len(xs)%2 == 0 {
			x = 60*rng.Float64() - 30
		} else {
			x = math.Exp(math.Log(1e-12) + rng.Float64()*(math.Log(120)-math.Log(1e-12)))
			if rng.IntN(2) == 0 {
				x = -x
			}
		}
		xs = append(xs, float32(x))
	}
	return xs[:n-n%4]
}

// TestActivationAccuracy measures σ and tanh of every kernel set against
// float64 math: each must be within 1 float32 ulp of the exact value (they
// are designed for half an ulp plus 2^-40 relative); the worst case is
// logged. The kernels must also agree on NaN, ±Inf and signed zeros.
func TestActivationAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	xs := activationInputs(rng, 20000)
	var ref [2][]float32
	for _, ks := range kernelSets() {
		t.Run(ks.String(), func(t *testing.T) {
			sig, th := activations(ks, xs)
			worstS, worstT := 0.0, 0.0
			for q, x := range xs {
				es := ulps(sig[q], sigmoid64(float64(x)))
				et := ulps(th[q], math.Tanh(float64(x)))
				if es > 1 || et > 1 {
					t.Fatalf("x=%v: σ=%v (%.2f ulp, want %v), tanh=%v (%.2f ulp, want %v)", x, sig[q], es, sigmoid64(float64(x)), th[q], et, math.Tanh(float64(x)))
				}
				worstS, worstT = max(worstS, es), max(worstT, et)
			}
			t.Logf("%d inputs: σ within %.3f ulp, tanh within %.3f ulp", len(xs), worstS, worstT)
			if ref[0] == nil {
				ref = [2][]float32{sig, th}
				return
			}
			diff := 0
			for q := range xs {
				if sig[q] != ref[0][q] || th[q] != ref[1][q] {
					diff++
				}
			}
			t.Logf("%d of %d inputs differ from the portable kernel (by at most 1 ulp)", diff, len(xs))
			if ks == kernAVX512 {
				s2, t2 := activations(kernAVX2, xs)
				sameBits(t, "σ avx512 vs avx2", sig, s2)
				sameBits(t, "tanh avx512 vs avx2", th, t2)
			}
		})
	}
	t.Run("special", func(t *testing.T) {
		nan := float32(math.NaN())
		for _, ks := range kernelSets() {
			// Eight values, so that the eight-lane kernels run too.
			sig, th := activations(ks, []float32{nan, nan, nan, nan, nan, nan, nan, nan})
			for q := range sig {
				if !math.IsNaN(float64(sig[q])) || !math.IsNaN(float64(th[q])) {
					t.Errorf("%v: σ(NaN)=%v tanh(NaN)=%v, want NaN", ks, sig[q], th[q])
				}
			}
			tiny := []float32{0x1p-30, -0x1p-30, 1e-40, -1e-40, 0x1p-20, -0x1p-126, 1e-10, -3e-9}
			_, th = activations(ks, tiny)
			sameBits(t, fmt.Sprintf("%v: tanh of tiny values", ks), th, tiny)
		}
	})
}

// TestCellKernelsAgree runs the whole cell update of both kernel sets on
// the same random inputs: their states must agree to 2 float32 ulps (the
// activations may differ by one ulp in rare near-ties).
func TestCellKernelsAgree(t *testing.T) {
	if !haveAVX2FMA {
		t.Skip("no AVX2/FMA on this CPU")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for _, H := range []int{1, 4, 5, 32, 64, 67} {
		t.Run(fmt.Sprint(H), func(t *testing.T) {
			for trial := 0; trial < 20; trial++ {
				z := randVec(rng, 4*H, 6)
				c0 := randVec(rng, H, 4)
				var cs, hs [2][]float32
				for k, ks := range []kernelSet{kernGeneric, kernAVX2} {
					cs[k] = append([]float32{}, c0...)
					hs[k] = make([]float32, H)
					lstmCell(ks, append([]float32{}, z...), cs[k], hs[k])
				}
				for q := 0; q < H; q++ {
					if ulps(cs[1][q], float64(cs[0][q])) > 2 || ulps(hs[1][q], float64(hs[0][q])) > 2 {
						t.Fatalf("unit %d: avx2 c=%v h=%v, generic c=%v h=%v", q, cs[1][q], hs[1][q], cs[0][q], hs[0][q])
					}
				}
			}
		})
	}
}

// TestCellVectorKernelsIdentical: the vector kernel sets compute the cell
// update bit-identically (AVX-512 runs the same operations per lane as
// AVX2, in one call when H is a multiple of 8).
func TestCellVectorKernelsIdentical(t *testing.T) {
	if !haveAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewPCG(17, 18))
	for _, H := range []int{1, 4, 8, 12, 16, 32, 64, 67, 72} {
		t.Run(fmt.Sprint(H), func(t *testing.T) {
			for trial := 0; trial < 20; trial++ {
				z := randVec(rng, 4*H, 6)
				c0 := randVec(rng, H, 4)
				var cs, hs [2][]float32
				for k, ks := range []kernelSet{kernAVX2, kernAVX512} {
					cs[k] = append([]float32{}, c0...)
					hs[k] = make([]float32, H)
					lstmCell(ks, append([]float32{}, z...), cs[k], hs[k])
				}
				sameBits(t, "c", cs[1], cs[0])
				sameBits(t, "h", hs[1], hs[0])
			}
		})
	}
}

// TestStepNoAlloc: after the first call sizes the scratch, no entry point
// allocates.
func TestStepNoAlloc(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	n := randNetwork(rng, 5, []int{64, 64}, 1)
	states := []*State{n.NewState(), n.NewState(), n.NewState()}
	xs := randVec(rng, 3*5, 1)
	ys := make([]float32, 3)
	var b Batch
	var st Stepper
	cases := []struct {
		name string
		f    func()
	}{
		{"Batch.Step", func() { b.Step(n, states, xs, ys) }},
		{"Stepper.Step", func() { st.Step(n, states[0], xs[:5], ys[:1]) }},
		{"Network.Step", func() { n.Step(states[1], xs[5:10], ys[1:2]) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.f()
			if a := testing.AllocsPerRun(50, c.f); a != 0 {
				t.Errorf("%s allocates %v times per call", c.name, a)
			}
		})
	}
}

// TestStepPanics: shape mismatches are programmer errors and panic.
func TestStepPanics(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	n := randNetwork(rng, 5, []int{8, 8}, 1)
	other := randNetwork(rng, 5, []int{8}, 1)
	wide := randNetwork(rng, 5, []int{8, 9}, 1)
	broken := randNetwork(rng, 5, []int{8}, 1)
	broken.Layers[0].W = broken.Layers[0].W[:10]
	s := n.NewState()
	x, y := make([]float32, 5), make([]float32, 1)
	var b Batch
	var st Stepper
	cases := []struct {
		name string
		f    func()
	}{
		{"short x", func() { st.Step(n, s, x[:4], y) }},
		{"long x", func() { st.Step(n, s, append(x, 0), y) }},
		{"short y", func() { st.Step(n, s, x, y[:0]) }},
		{"state of fewer layers", func() { st.Step(n, other.NewState(), x, y) }},
		{"state of other widths", func() { st.Step(n, wide.NewState(), x, y) }},
		{"nil state", func() { st.Step(n, nil, x, y) }},
		{"weights not matching shape", func() { st.Step(broken, broken.NewState(), x, y) }},
		{"Network.Step short x", func() { n.Step(s, x[:3], y) }},
		{"batch xs for fewer series", func() { b.Step(n, []*State{s, n.NewState()}, x, make([]float32, 2)) }},
		{"batch ys for fewer series", func() { b.Step(n, []*State{s, n.NewState()}, make([]float32, 10), y) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("did not panic")
				}
			}()
			c.f()
		})
	}
}

// TestStepNaNPropagates: a NaN reading yields a NaN prediction and state
// with every kernel set, as documented (callers screen readings).
func TestStepNaNPropagates(t *testing.T) {
	for _, ks := range kernelSets() {
		t.Run(ks.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(15, 16))
			n := randNetwork(rng, 5, []int{8}, 1)
			s := randState(rng, n)
			x := randVec(rng, 5, 1)
			x[0] = float32(math.NaN())
			y := make([]float32, 1)
			var b Batch
			b.ks = ks
			b.Step(n, []*State{s}, x, y)
			if !math.IsNaN(float64(y[0])) || !math.IsNaN(float64(s.H[0][0])) || !math.IsNaN(float64(s.C[0][0])) {
				t.Errorf("y=%v h=%v c=%v, want NaN", y[0], s.H[0][0], s.C[0][0])
			}
		})
	}
}

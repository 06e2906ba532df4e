package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refState64 is the float64 recurrent state of the private reference
// forward pass below.
type refState64 struct{ h, c [][]float64 }

func newRefState64(n *Network) *refState64 {
	s := &refState64{}
	for _, ly := range n.Layers {
		s.h = append(s.h, make([]float64, ly.Hidden))
		s.c = append(s.c, make([]float64, ly.Hidden))
	}
	return s
}

// refStep64 is a plain float64 implementation of the formulas documented on
// LSTMLayer and Dense, written independently of the graph and of the
// serving step. It advances s by x and returns the head's output.
func refStep64(n *Network, s *refState64, x []float64) []float64 {
	in := x
	for l, ly := range n.Layers {
		H, W := ly.Hidden, ly.In+ly.Hidden
		z := make([]float64, 4*H)
		for r := range z {
			acc := float64(ly.B[r])
			for j := 0; j < ly.In; j++ {
				acc += float64(ly.W[r*W+j]) * in[j]
			}
			for j := 0; j < H; j++ {
				acc += float64(ly.W[r*W+ly.In+j]) * s.h[l][j]
			}
			z[r] = acc
		}
		sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
		for j := 0; j < H; j++ {
			i, f, g, o := sig(z[j]), sig(z[H+j]), math.Tanh(z[2*H+j]), sig(z[3*H+j])
			s.c[l][j] = f*s.c[l][j] + i*g
			s.h[l][j] = o * math.Tanh(s.c[l][j])
		}
		in = s.h[l]
	}
	y := make([]float64, n.Head.Out)
	for r := range y {
		acc := float64(n.Head.B[r])
		for j := 0; j < n.Head.In; j++ {
			acc += float64(n.Head.W[r*n.Head.In+j]) * in[j]
		}
		y[r] = acc
	}
	return y
}

// randomNetwork returns a network with weights uniform in ±scale.
func randomNetwork(rng *rand.Rand, inputs int, hidden []int, outputs int, scale float64) *Network {
	n := NewNetwork(inputs, hidden, outputs)
	fill := func(w []float32) {
		for i := range w {
			w[i] = float32(scale * (2*rng.Float64() - 1))
		}
	}
	for _, ly := range n.Layers {
		fill(ly.W)
		fill(ly.B)
	}
	fill(n.Head.W)
	fill(n.Head.B)
	return n
}

func TestParamsRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := randomNetwork(rng, 3, []int{4, 5}, 2, 1)
	m := paramsFromNetwork(n).network()
	for l := range n.Layers {
		for i := range n.Layers[l].W {
			if n.Layers[l].W[i] != m.Layers[l].W[i] {
				t.Fatalf("layer %d W[%d] differs", l, i)
			}
		}
	}
	for i := range n.Head.W {
		if n.Head.W[i] != m.Head.W[i] {
			t.Fatalf("head W[%d] differs", i)
		}
	}
}

// TestGraphForward checks the graph's predictions and carried state against
// the float64 reference over several segments. Tolerance: float32 arithmetic
// on O(1) values with dot products of ≤ 10 terms and 3 segments of 4 steps
// stays within a few hundred float32 ulps (2⁻²³ ≈ 1.2e-7) of float64; 1e-5
// leaves margin.
func TestGraphForward(t *testing.T) {
	for _, tc := range []struct {
		name          string
		in, out, B, T int
		hidden        []int
	}{
		{"1x3", 2, 1, 1, 4, []int{3}},
		{"2x4-batch3-k2", 3, 2, 3, 4, []int{4, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			n := randomNetwork(rng, tc.in, tc.hidden, tc.out, 0.8)
			p := paramsFromNetwork(n)
			lg := newLSTMGraph(p, tc.B, tc.T, false, false, false)
			refs := make([]*refState64, tc.B)
			for b := range refs {
				refs[b] = newRefState64(n)
			}
			for seg := range 3 {
				xs := make([][][]float64, tc.T)
				for step := range tc.T {
					xd := f32(lg.x[step])
					xs[step] = make([][]float64, tc.B)
					for b := range tc.B {
						xs[step][b] = make([]float64, tc.in)
						for j := range tc.in {
							v := rng.NormFloat64()
							xd[b*tc.in+j] = float32(v)
							xs[step][b][j] = float64(float32(v))
						}
					}
				}
				if err := lg.run(p); err != nil {
					t.Fatal(err)
				}
				pred := lg.predictions()
				for step := range tc.T {
					for b := range tc.B {
						want := refStep64(n, refs[b], xs[step][b])
						for k := range tc.out {
							got := float64(pred[(step*tc.B+b)*tc.out+k])
							if math.Abs(got-want[k]) > 1e-5 {
								t.Fatalf("segment %d step %d row %d out %d: graph %g, reference %g", seg, step, b, k, got, want[k])
							}
						}
					}
				}
				lg.carryState()
			}
		})
	}
}

// TestGraphGradient compares the graph's gradient with central finite
// differences of the float64 reference loss on a tiny network, over two
// segments so that the carried state is exercised. With float32 forward
// arithmetic the loss carries relative rounding of ~1e-7, so a step of
// ε = 1e-3 (in float64 on the reference) gives a finite difference with
// truncation error O(ε²) ≈ 1e-6 and the graph gradient float32 rounding
// ≈ 1e-6; we require agreement within 1e-3·(1+|g|).
func TestGraphGradient(t *testing.T) {
	const (
		B, T, in, out = 2, 3, 2, 2
		eps           = 1e-3
	)
	hidden := []int{3, 2}
	rng := rand.New(rand.NewPCG(5, 6))
	n := randomNetwork(rng, in, hidden, out, 0.7)
	p := paramsFromNetwork(n)
	lg := newLSTMGraph(p, B, T, true, false, false)

	// Two segments of inputs, targets and a mask with a hole.
	type seg struct {
		x      [][]float64 // [t*B+b][j]
		target []float64   // [(t*B+b)*out+k]
		mask   []float64
	}
	segs := make([]seg, 2)
	for s := range segs {
		segs[s].x = make([][]float64, T*B)
		for r := range segs[s].x {
			segs[s].x[r] = make([]float64, in)
			for j := range in {
				segs[s].x[r][j] = float64(float32(rng.NormFloat64()))
			}
		}
		for range T * B * out {
			segs[s].target = append(segs[s].target, float64(float32(rng.NormFloat64())))
			m := 1.0
			if rng.IntN(4) == 0 {
				m = 0
			}
			segs[s].mask = append(segs[s].mask, m)
		}
	}
	// The state entering the second segment is the one the first segment
	// leaves, computed once with the unperturbed network: truncated BPTT
	// treats it as a constant input.
	entry := []*refState64{newRefState64(n), newRefState64(n)}
	for step := range T {
		for b := range B {
			refStep64(n, entry[b], segs[0].x[step*B+b])
		}
	}
	// refLoss is the loss of the second segment as a function of the network.
	refLoss := func(net *Network) float64 {
		var loss, count float64
		for b := range B {
			st := &refState64{}
			for l := range entry[b].h {
				st.h = append(st.h, append([]float64(nil), entry[b].h[l]...))
				st.c = append(st.c, append([]float64(nil), entry[b].c[l]...))
			}
			for step := range T {
				y := refStep64(net, st, segs[1].x[step*B+b])
				for k := range out {
					i := (step*B+b)*out + k
					d := y[k] - segs[1].target[i]
					loss += segs[1].mask[i] * d * d
					count += segs[1].mask[i]
				}
			}
		}
		return loss / count
	}

	// Graph: run the first segment forward (its gradient is discarded), carry
	// the state, run the second.
	var count float64
	for _, m := range segs[1].mask {
		count += m
	}
	for s := range segs {
		for step := range T {
			xd := f32(lg.x[step])
			for b := range B {
				for j := range in {
					xd[b*in+j] = float32(segs[s].x[step*B+b][j])
				}
			}
		}
		for i := range segs[s].target {
			f32(lg.target)[i] = float32(segs[s].target[i])
			f32(lg.mask)[i] = float32(segs[s].mask[i])
		}
		lg.setInvCount(float32(1 / count))
		if err := lg.run(p); err != nil {
			t.Fatal(err)
		}
		if s == 0 {
			lg.carryState()
		}
	}
	if got, want := float64(lg.lossValue()), refLoss(n); math.Abs(got-want) > 1e-5*(1+want) {
		t.Fatalf("loss: graph %g, reference %g", got, want)
	}
	grads := lg.grads()
	// Perturb each weight of the serving layout through the graph layout.
	for i := range p.data {
		for j := range p.data[i] {
			q := p.clone()
			orig := q.data[i][j]
			q.data[i][j] = orig + eps
			up := refLoss(q.network())
			q.data[i][j] = orig - eps
			down := refLoss(q.network())
			// float32 weights: the realised step is not exactly eps.
			h := float64(orig+eps) - float64(orig-eps)
			fd := (up - down) / h
			g := float64(grads[i][j])
			if math.Abs(fd-g) > 1e-3*(1+math.Abs(g)) {
				t.Errorf("param %d[%d]: graph gradient %g, finite difference %g", i, j, g, fd)
			}
		}
	}
}

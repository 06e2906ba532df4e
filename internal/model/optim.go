package model

import (
	"fmt"
	"math"
)

// adam is the Adam optimiser (Kingma & Ba 2015, "Adam: A Method for
// Stochastic Optimization", ICLR, Algorithm 1), applied by Vigil itself to
// the float32 weight slices rather than through gorgonia's solvers, so that
// gradient clipping by global norm can happen between the backward pass
// and the update and every operation is under our control. For each weight
// θ with gradient g at step t = 1, 2, …:
//
//	m ← β₁·m + (1 − β₁)·g
//	v ← β₂·v + (1 − β₂)·g²
//	m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)
//	θ ← θ − α·m̂ / (√v̂ + ε)
//
// with the paper's defaults β₁ = 0.9, β₂ = 0.999, ε = 1e-8 (also those of
// torch.optim.Adam). The moments are kept in float64; θ is rounded to
// float32 after each update.
type adam struct {
	lr, beta1, beta2, eps float64
	t                     int
	m, v                  [][]float64
}

// newAdam returns an optimiser for parameters shaped like params.
func newAdam(lr float64, params [][]float32) *adam {
	a := &adam{lr: lr, beta1: 0.9, beta2: 0.999, eps: 1e-8}
	for _, p := range params {
		a.m = append(a.m, make([]float64, len(p)))
		a.v = append(a.v, make([]float64, len(p)))
	}
	return a
}

// step applies one update of params from grads. It panics if the shapes do
// not match those given to newAdam.
func (a *adam) step(params, grads [][]float32) {
	if len(params) != len(a.m) || len(grads) != len(a.m) {
		panic(fmt.Sprintf("model: adam: %d params, %d grads, want %d", len(params), len(grads), len(a.m)))
	}
	a.t++
	c1 := 1 - math.Pow(a.beta1, float64(a.t))
	c2 := 1 - math.Pow(a.beta2, float64(a.t))
	for i, p := range params {
		g, m, v := grads[i], a.m[i], a.v[i]
		if len(p) != len(m) || len(g) != len(m) {
			panic(fmt.Sprintf("model: adam: parameter %d has %d values and %d gradients, want %d", i, len(p), len(g), len(m)))
		}
		for j := range p {
			gj := float64(g[j])
			m[j] = a.beta1*m[j] + (1-a.beta1)*gj
			v[j] = a.beta2*v[j] + (1-a.beta2)*gj*gj
			p[j] = float32(float64(p[j]) - a.lr*(m[j]/c1)/(math.Sqrt(v[j]/c2)+a.eps))
		}
	}
}

// globalNorm returns the Euclidean norm of all gradients taken together,
// ‖g‖ = √(Σᵢ Σⱼ gᵢⱼ²), accumulated in float64.
func globalNorm(grads [][]float32) float64 {
	var s float64
	for _, g := range grads {
		for _, x := range g {
			s += float64(x) * float64(x)
		}
	}
	return math.Sqrt(s)
}

// clipGlobalNorm rescales grads in place so that their global norm is at
// most maxNorm (Pascanu, Mikolov & Bengio 2013, "On the difficulty of
// training recurrent neural networks", ICML, Algorithm 1):
//
//	if ‖g‖ > maxNorm:  g ← g · maxNorm / ‖g‖
//
// which keeps the direction of the step, unlike clamping each element. This
// is torch.nn.utils.clip_grad_norm_. It returns the norm before clipping.
// maxNorm ≤ 0 disables clipping.
func clipGlobalNorm(grads [][]float32, maxNorm float64) float64 {
	norm := globalNorm(grads)
	if maxNorm > 0 && norm > maxNorm {
		scale := float32(maxNorm / norm)
		for _, g := range grads {
			for j := range g {
				g[j] *= scale
			}
		}
	}
	return norm
}

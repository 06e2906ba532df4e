package model

import "fmt"

// Step advances the state s of one series by one reading x (n.Inputs()
// values) and writes the prediction for the next reading into y
// (n.Outputs() values).
//
// Layer l computes, with x_t the network input for l = 0 and layer l-1's new
// h_t above it (Hochreiter & Schmidhuber 1997, "Long short-term memory",
// Neural Computation 9(8); the forget gate is that of Gers, Schmidhuber &
// Cummins 2000, "Learning to forget", Neural Computation 12(10); the gate
// order i, f, g, o and the single fused bias follow torch.nn.LSTM):
//
//	z   = W·[x_t; h_{t-1}] + B
//	i   = σ(z[0:H])    f = σ(z[H:2H])    g = tanh(z[2H:3H])    o = σ(z[3H:4H])
//	c_t = f ⊙ c_{t-1} + i ⊙ g
//	h_t = o ⊙ tanh(c_t)
//
// with σ(x) = 1/(1+e^{-x}), and the head predicts y_t = W_head·h_t + B_head
// from the last layer. h and c of every layer are updated in place.
//
// Arithmetic is float32, as a float32 training graph computes it: each gate
// pre-activation is a float32 dot product (a fixed summation order, see
// kernel.go), σ and tanh are within half a float32 ulp of the exact value
// (evaluated in float64, rounded once) and the cell update rounds each
// product and the sum, with no fused multiply-add. On amd64 with AVX2 and
// FMA (and AVX-512 where present, chosen at start-up from CPUID) the
// products and activations run as vectorised assembly; elsewhere, or with
// the purego build tag, the same arithmetic runs in Go. Network.Step, Stepper.Step and Batch.Step
// give bit-identical results for a series. A NaN or infinite input
// propagates into the state and the prediction: screen readings before
// stepping (Predictor does).
//
// Concurrency: the step only reads n, so a Network may be shared by any
// number of goroutines; s is written, so each State belongs to one goroutine
// at a time. The step takes no lock, makes no system call and never blocks.
// Shape mismatches (x or y of the wrong length, a State of another shape,
// weights that do not match their declared shape) are programmer errors and
// panic, as in gonum.
//
// Network.Step keeps its scratch space on the stack and does not allocate
// when the widest layer needs at most 4096 scratch values, (In+H) + 4·H ≤
// 4096: layers up to about 680 units. Above that it allocates its scratch
// on every call; hold a Stepper instead.
func (n *Network) Step(s *State, x, y []float32) {
	xhLen, zLen := n.scratchLen(1)
	one := [1]*State{s}
	// Two sizes, so that small networks do not pay for zeroing a large
	// buffer on every call.
	switch need := xhLen + zLen; {
	case need <= 512:
		var buf [512]float32
		n.stepBatch(kernAuto, one[:], x, y, buf[:xhLen], buf[xhLen:need])
	case need <= 4096:
		var buf [4096]float32
		n.stepBatch(kernAuto, one[:], x, y, buf[:xhLen], buf[xhLen:need])
	default:
		buf := make([]float32, need)
		n.stepBatch(kernAuto, one[:], x, y, buf[:xhLen], buf[xhLen:need])
	}
}

// Stepper steps single series without allocating. Its zero value is ready
// to use; it keeps scratch space sized for the largest network it has seen
// (allocated on the first step of a larger network, never again). A Stepper
// is not safe for concurrent use: keep one per goroutine.
//
// Stepper.Step and Batch.Step with a batch of one compute bit-identical
// results: they run the same kernels in the same order.
type Stepper struct {
	b   Batch
	one [1]*State
}

// Step advances s by one reading x (n.Inputs() values) and writes the
// prediction for the next reading into y (n.Outputs() values), as
// Network.Step describes.
func (st *Stepper) Step(n *Network, s *State, x, y []float32) {
	st.one[0] = s
	st.b.Step(n, st.one[:], x, y)
	st.one[0] = nil
}

// Batch steps many series of one network at once: the series that have a
// reading in the same fetch. For each layer it gathers the inputs and
// previous hidden states of all series into one row-major matrix
// XH (N × (In+H)), computes every gate pre-activation in one matrix product
//
//	Z = XH · Wᵀ + 1·Bᵀ          (N × 4H)
//
// which is where the floating-point work is, then applies the element-wise
// cell update to each series' state in place. The result for every series
// is bit-identical to stepping it alone with Stepper.Step or Network.Step:
// each element is computed by the same kernel in the same order.
//
// The zero value is ready to use. A Batch keeps scratch space sized for the
// largest batch and network it has seen and does not allocate after that. It
// is not safe for concurrent use: keep one per goroutine.
type Batch struct {
	xh, z []float32
	ks    kernelSet // kernAuto in use; tests force one
}

// Step advances each states[i] by the reading xs[i·in : (i+1)·in] and writes
// its prediction into ys[i·out : (i+1)·out], with in = n.Inputs() and
// out = n.Outputs(), each exactly as Network.Step would. The states must be
// distinct (a State listed twice is a programmer error that is not
// detected: its result is undefined). An empty batch does nothing.
func (b *Batch) Step(n *Network, states []*State, xs, ys []float32) {
	xhLen, zLen := n.scratchLen(len(states))
	if cap(b.xh) < xhLen {
		b.xh = make([]float32, xhLen)
	}
	if cap(b.z) < zLen {
		b.z = make([]float32, zLen)
	}
	n.stepBatch(b.ks, states, xs, ys, b.xh[:xhLen], b.z[:zLen])
}

// scratchLen returns the scratch a batch of m series needs: the gathered
// [x; h] rows of the widest layer (also the head's input rows) and the gate
// pre-activations of the widest layer.
func (n *Network) scratchLen(m int) (xh, z int) {
	for _, ly := range n.Layers {
		xh = max(xh, ly.In+ly.Hidden)
		z = max(z, 4*ly.Hidden)
	}
	return m * xh, m * z
}

// stepBatch is the step shared by every entry point.
func (n *Network) stepBatch(ks kernelSet, states []*State, xs, ys, xh, z []float32) {
	n.check()
	ks = ks.resolve()
	m := len(states)
	in, out := n.Inputs(), n.Outputs()
	if len(xs) != m*in {
		panic(fmt.Sprintf("model: Step: %d input values for %d series of width %d", len(xs), m, in))
	}
	if len(ys) != m*out {
		panic(fmt.Sprintf("model: Step: %d output values for %d series of width %d", len(ys), m, out))
	}
	for i, s := range states {
		n.checkState(i, s)
	}
	if m == 0 {
		return
	}
	for l := range n.Layers {
		ly := &n.Layers[l]
		H, K := ly.Hidden, ly.In+ly.Hidden
		// Gather XH: row i is [input of series i; its h_{t-1}].
		for i, s := range states {
			row := xh[i*K : (i+1)*K]
			if l == 0 {
				copy(row[:ly.In], xs[i*in:(i+1)*in])
			} else {
				copy(row[:ly.In], s.H[l-1])
			}
			copy(row[ly.In:], s.H[l])
		}
		gemmNT(ks, m, 4*H, K, xh, K, ly.W, K, ly.B, z, 4*H)
		for i, s := range states {
			lstmCell(ks, z[i*4*H:(i+1)*4*H], s.C[l], s.H[l])
		}
	}
	hd := &n.Head
	for i, s := range states {
		copy(xh[i*hd.In:(i+1)*hd.In], s.H[len(n.Layers)-1])
	}
	gemmNT(ks, m, hd.Out, hd.In, xh, hd.In, hd.W, hd.In, hd.B, ys, hd.Out)
}

// checkState panics unless s has n's shape.
func (n *Network) checkState(i int, s *State) {
	if s == nil {
		panic(fmt.Sprintf("model: Step: state %d is nil", i))
	}
	if len(s.H) != len(n.Layers) || len(s.C) != len(n.Layers) {
		panic(fmt.Sprintf("model: Step: state %d has %d layers, network %d", i, len(s.H), len(n.Layers)))
	}
	for l := range n.Layers {
		if h := n.Layers[l].Hidden; len(s.H[l]) != h || len(s.C[l]) != h {
			panic(fmt.Sprintf("model: Step: state %d layer %d has %d/%d units, network %d", i, l, len(s.H[l]), len(s.C[l]), h))
		}
	}
}

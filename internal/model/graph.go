package model

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// graphParams holds the trainable weights in the layout of the gorgonia
// graph: for every layer the transposed fused gate matrix Wᵀ, shape
// (In+H) × 4H row-major, and the bias (1 × 4H); then the head's Wᵀ
// (H × Out) and bias (1 × Out). The transposition lets the graph compute a
// whole batch as one row-major product [x;h]ᵀ·Wᵀ, (B × (In+H))·((In+H) × 4H),
// which is the same set of dot products as the serving step's W·[x;h].
//
// All graphs of a training run (the training graph and the evaluation
// graph) copy their weights from one graphParams before every run, so the
// optimiser updates a single set of float32 slices.
type graphParams struct {
	hidden  []int
	inputs  int
	outputs int
	// data[2l] is layer l's Wᵀ, data[2l+1] its bias; the last two entries
	// are the head's Wᵀ and bias.
	data [][]float32
}

// paramShapes returns the (rows, cols) of every entry of graphParams.data.
func paramShapes(inputs int, hidden []int, outputs int) [][2]int {
	var s [][2]int
	in := inputs
	for _, h := range hidden {
		s = append(s, [2]int{in + h, 4 * h}, [2]int{1, 4 * h})
		in = h
	}
	return append(s, [2]int{in, outputs}, [2]int{1, outputs})
}

func newGraphParams(inputs int, hidden []int, outputs int) *graphParams {
	p := &graphParams{hidden: append([]int(nil), hidden...), inputs: inputs, outputs: outputs}
	for _, sh := range paramShapes(inputs, hidden, outputs) {
		p.data = append(p.data, make([]float32, sh[0]*sh[1]))
	}
	return p
}

// clone returns a deep copy of p.
func (p *graphParams) clone() *graphParams {
	q := &graphParams{hidden: p.hidden, inputs: p.inputs, outputs: p.outputs, data: make([][]float32, len(p.data))}
	for i, d := range p.data {
		q.data[i] = append([]float32(nil), d...)
	}
	return q
}

// paramsFromNetwork converts n to the graph layout.
func paramsFromNetwork(n *Network) *graphParams {
	n.check()
	p := newGraphParams(n.Inputs(), n.Hidden(), n.Outputs())
	for l, ly := range n.Layers {
		transposeInto(p.data[2*l], ly.W, 4*ly.Hidden, ly.In+ly.Hidden)
		copy(p.data[2*l+1], ly.B)
	}
	k := 2 * len(n.Layers)
	transposeInto(p.data[k], n.Head.W, n.Head.Out, n.Head.In)
	copy(p.data[k+1], n.Head.B)
	return p
}

// network converts p to the serving layout.
func (p *graphParams) network() *Network {
	n := NewNetwork(p.inputs, p.hidden, p.outputs)
	for l, ly := range n.Layers {
		transposeInto(ly.W, p.data[2*l], ly.In+ly.Hidden, 4*ly.Hidden)
		copy(ly.B, p.data[2*l+1])
	}
	k := 2 * len(n.Layers)
	transposeInto(n.Head.W, p.data[k], n.Head.In, n.Head.Out)
	copy(n.Head.B, p.data[k+1])
	return n
}

// transposeInto writes the transpose of the rows×cols row-major matrix src
// into dst (cols×rows).
func transposeInto(dst, src []float32, rows, cols int) {
	if len(dst) != rows*cols || len(src) != rows*cols {
		panic(fmt.Sprintf("model: transpose of %d×%d with len(src)=%d len(dst)=%d", rows, cols, len(src), len(dst)))
	}
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			dst[c*rows+r] = src[r*cols+c]
		}
	}
}

// lstmGraph is the gorgonia graph of the network unrolled over T steps for
// a batch of B rows, in float32 so that it does the same arithmetic as the
// serving step.
//
// Inputs, all bound to float32 tensors that the caller fills in place
// before each run (row b of step t is one series position):
//
//	x[t]      B × In      the input vector of step t
//	h0[l],c0[l] B × H_l  the state entering the segment (no gradient flows
//	                     into it: truncated BPTT, Williams & Peng 1990)
//	target    (T·B) × Out the scaled future values; row t·B+b
//	mask      (T·B) × Out 1 where the target counts, 0 where it does not
//	                      (past a series' end, padding, the other split)
//	invCount  scalar      1 / Σ mask, so that loss is the mean
//	drop[l][t] B × In_l   inverted-dropout masks, 0 or 1/(1−p), for the
//	                      input of layer l (only when dropout is on)
//
// Outputs: pred, (T·B) × Out; hT[l], cT[l] the state leaving the segment;
// loss = invCount · Σ mask ⊙ (pred − target)², the masked mean squared
// error.
//
// Per step and layer the graph computes, exactly as LSTMLayer documents,
//
//	z = [x_t, h_{t-1}] · Wᵀ + b
//	i, f, o = σ(z[:, 0:H]), σ(z[:, H:2H]), σ(z[:, 3H:4H]);  g = tanh(z[:, 2H:3H])
//	c_t = f ⊙ c_{t-1} + i ⊙ g;  h_t = o ⊙ tanh(c_t)
//
// and the head pred = h_t · W_headᵀ + b_head on the last layer's h_t for all
// steps at once.
type lstmGraph struct {
	B, T    int
	train   bool
	dropout [2]bool // [0]: on the input of layer 0, [1]: between layers

	g       *G.ExprGraph
	weights []*G.Node // in graphParams.data order

	x              []*G.Node
	h0, c0, hT, cT []*G.Node
	target, mask   *G.Node
	invCount       *G.Node
	drop           [][]*G.Node // drop[l][t], nil when off for layer l
	pred, loss     *G.Node

	// Copies of the outputs, made by read statements at the end of a run
	// (the tape machine may reuse the memory of intermediate nodes).
	predV, lossV *G.Value
	hTV, cTV     []*G.Value

	vm G.VM
}

// f32 returns the float32 backing slice of a node's value.
func f32(n *G.Node) []float32 { return n.Value().Data().([]float32) }

// newLSTMGraph builds the graph for networks shaped like p. When train is
// set the graph also computes the gradient of loss with respect to every
// weight. inDrop and midDrop say whether to build dropout masks on the
// network input and between LSTM layers. It panics on non-positive sizes.
func newLSTMGraph(p *graphParams, B, T int, train, inDrop, midDrop bool) *lstmGraph {
	if B <= 0 || T <= 0 {
		panic(fmt.Sprintf("model: bad graph size B=%d T=%d", B, T))
	}
	must := func(n *G.Node, err error) *G.Node {
		if err != nil {
			panic(fmt.Sprintf("model: building graph: %v", err))
		}
		return n
	}
	g := G.NewGraph()
	lg := &lstmGraph{B: B, T: T, train: train, dropout: [2]bool{inDrop, midDrop}, g: g}
	matrix := func(r, c int, name string) *G.Node {
		return G.NewMatrix(g, tensor.Float32, G.WithShape(r, c), G.WithName(name),
			G.WithValue(tensor.New(tensor.WithShape(r, c), tensor.WithBacking(make([]float32, r*c)))))
	}
	for i, sh := range paramShapes(p.inputs, p.hidden, p.outputs) {
		lg.weights = append(lg.weights, matrix(sh[0], sh[1], fmt.Sprintf("w%d", i)))
	}
	L := len(p.hidden)
	lg.h0, lg.c0 = make([]*G.Node, L), make([]*G.Node, L)
	lg.hT, lg.cT = make([]*G.Node, L), make([]*G.Node, L)
	lg.drop = make([][]*G.Node, L)
	h, c := make([]*G.Node, L), make([]*G.Node, L)
	in := p.inputs
	for l, H := range p.hidden {
		lg.h0[l] = matrix(B, H, fmt.Sprintf("h0_%d", l))
		lg.c0[l] = matrix(B, H, fmt.Sprintf("c0_%d", l))
		h[l], c[l] = lg.h0[l], lg.c0[l]
		if (l == 0 && inDrop) || (l > 0 && midDrop) {
			lg.drop[l] = make([]*G.Node, T)
			for t := range T {
				lg.drop[l][t] = matrix(B, in, fmt.Sprintf("drop%d_%d", l, t))
			}
		}
		in = H
	}
	lg.x = make([]*G.Node, T)
	tops := make([]*G.Node, T)
	for t := range T {
		lg.x[t] = matrix(B, p.inputs, fmt.Sprintf("x%d", t))
		layerIn := lg.x[t]
		for l, H := range p.hidden {
			if lg.drop[l] != nil {
				layerIn = must(G.HadamardProd(layerIn, lg.drop[l][t]))
			}
			xh := must(G.Concat(1, layerIn, h[l]))
			z := must(G.Mul(xh, lg.weights[2*l]))
			z = must(G.BroadcastAdd(z, lg.weights[2*l+1], nil, []byte{0}))
			sig := must(G.Sigmoid(z))
			th := must(G.Tanh(z))
			i := must(G.Slice(sig, nil, G.S(0, H)))
			f := must(G.Slice(sig, nil, G.S(H, 2*H)))
			gg := must(G.Slice(th, nil, G.S(2*H, 3*H)))
			o := must(G.Slice(sig, nil, G.S(3*H, 4*H)))
			c[l] = must(G.Add(must(G.HadamardProd(f, c[l])), must(G.HadamardProd(i, gg))))
			h[l] = must(G.HadamardProd(o, must(G.Tanh(c[l]))))
			layerIn = h[l]
		}
		tops[t] = layerIn
	}
	copy(lg.hT, h)
	copy(lg.cT, c)
	top := tops[0]
	if T > 1 {
		top = must(G.Concat(0, tops...))
	}
	k := 2 * L
	lg.pred = must(G.Mul(top, lg.weights[k]))
	lg.pred = must(G.BroadcastAdd(lg.pred, lg.weights[k+1], nil, []byte{0}))
	lg.target = matrix(T*B, p.outputs, "target")
	lg.mask = matrix(T*B, p.outputs, "mask")
	lg.invCount = G.NewScalar(g, tensor.Float32, G.WithName("invCount"), G.WithValue(float32(0)))
	diff := must(G.Sub(lg.pred, lg.target))
	sq := must(G.HadamardProd(must(G.Square(diff)), lg.mask))
	lg.loss = must(G.HadamardProd(must(G.Sum(sq)), lg.invCount))

	read := func(n *G.Node) *G.Value {
		v := new(G.Value)
		G.Read(n, v)
		return v
	}
	lg.predV, lg.lossV = read(lg.pred), read(lg.loss)
	for l := range L {
		lg.hTV = append(lg.hTV, read(lg.hT[l]))
		lg.cTV = append(lg.cTV, read(lg.cT[l]))
	}
	if train {
		if _, err := G.Grad(lg.loss, lg.weights...); err != nil {
			panic(fmt.Sprintf("model: differentiating graph: %v", err))
		}
		lg.vm = G.NewTapeMachine(g, G.BindDualValues(lg.weights...))
	} else {
		lg.vm = G.NewTapeMachine(g)
	}
	return lg
}

// setInvCount sets the scalar 1/Σmask.
func (lg *lstmGraph) setInvCount(v float32) {
	if err := G.Let(lg.invCount, v); err != nil {
		panic(fmt.Sprintf("model: setting invCount: %v", err))
	}
}

// run loads the weights of p, executes the graph once and leaves the
// results in the output nodes (and, for a training graph, the gradients in
// the weight nodes). The inputs must have been filled in place.
func (lg *lstmGraph) run(p *graphParams) error {
	for i, w := range lg.weights {
		copy(f32(w), p.data[i])
	}
	if lg.train {
		// The tape machine adds the gradient into the weights' dual values
		// on every run; start each run from zero.
		for _, w := range lg.weights {
			if gv, err := w.Grad(); err == nil && gv != nil {
				clear(gv.Data().([]float32))
			}
		}
	}
	lg.vm.Reset()
	if err := lg.vm.RunAll(); err != nil {
		return fmt.Errorf("model: running graph: %w", err)
	}
	return nil
}

// grads returns the gradient slices of the weights after a run of a
// training graph, in graphParams.data order. The slices belong to the
// graph and are overwritten by the next run.
func (lg *lstmGraph) grads() [][]float32 {
	out := make([][]float32, len(lg.weights))
	for i, w := range lg.weights {
		gv, err := w.Grad()
		if err != nil {
			panic(fmt.Sprintf("model: no gradient for weight %d: %v", i, err))
		}
		out[i] = gv.Data().([]float32)
	}
	return out
}

// lossValue returns the loss of the last run.
func (lg *lstmGraph) lossValue() float32 {
	return (*lg.lossV).Data().(float32)
}

// predictions returns the predictions of the last run, (T·B) × Out
// row-major. The slice is overwritten by the next run.
func (lg *lstmGraph) predictions() []float32 { return (*lg.predV).Data().([]float32) }

// carryState copies the state leaving the segment into the state entering
// the next one (the values only: no gradient crosses the boundary).
func (lg *lstmGraph) carryState() {
	for l := range lg.h0 {
		copy(f32(lg.h0[l]), (*lg.hTV[l]).Data().([]float32))
		copy(f32(lg.c0[l]), (*lg.cTV[l]).Data().([]float32))
	}
}

// resetState zeroes the state entering the next segment.
func (lg *lstmGraph) resetState() {
	for l := range lg.h0 {
		clear(f32(lg.h0[l]))
		clear(f32(lg.c0[l]))
	}
}

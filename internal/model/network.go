package model

import "fmt"

// Network is a stack of LSTM layers followed by a dense head. It holds
// weights only; the recurrent state of a series lives in a State.
//
// Weights are float32 and laid out for the serving kernels: see LSTMLayer and
// Dense. A Network is read-only once built and safe for concurrent use by
// many goroutines, each stepping its own States.
type Network struct {
	Layers []LSTMLayer
	Head   Dense
}

// LSTMLayer holds the weights of one LSTM layer.
//
// With x_t the layer input and h_{t-1}, c_{t-1} its previous state, the
// layer computes (Hochreiter & Schmidhuber 1997, with the forget gate of
// Gers et al. 2000; the gate order is that of torch.nn.LSTM):
//
//	z   = W · [x_t; h_{t-1}] + B          (4·Hidden values)
//	i   = σ(z[0:H]),  f = σ(z[H:2H]),  g = tanh(z[2H:3H]),  o = σ(z[3H:4H])
//	c_t = f ⊙ c_{t-1} + i ⊙ g
//	h_t = o ⊙ tanh(c_t)
type LSTMLayer struct {
	In     int // input width: the feature count for layer 0, else the previous layer's Hidden
	Hidden int // H, the number of units
	// W is the fused gate matrix, row-major with 4·Hidden rows and
	// In+Hidden columns: row r, column j is at W[r*(In+Hidden)+j]. Columns
	// [0, In) multiply x_t, columns [In, In+Hidden) multiply h_{t-1}.
	W []float32
	// B is the gate bias, 4·Hidden values (torch's b_ih + b_hh).
	B []float32
}

// Dense is the output head: y = W · h + B, applied to the last layer's h_t.
type Dense struct {
	In  int // the last LSTM layer's Hidden
	Out int // predicted values per step
	// W is row-major Out×In: row r, column j is at W[r*In+j].
	W []float32
	B []float32 // Out values
}

// NewNetwork returns a zero-weight network with the given input width,
// hidden layer sizes and output width. It panics if any size is not
// positive: that is a programmer error.
func NewNetwork(inputs int, hidden []int, outputs int) *Network {
	if inputs <= 0 || outputs <= 0 || len(hidden) == 0 {
		panic(fmt.Sprintf("model: bad network shape: inputs=%d hidden=%v outputs=%d", inputs, hidden, outputs))
	}
	n := &Network{Layers: make([]LSTMLayer, len(hidden))}
	in := inputs
	for l, h := range hidden {
		if h <= 0 {
			panic(fmt.Sprintf("model: bad hidden size %d in layer %d", h, l))
		}
		n.Layers[l] = LSTMLayer{
			In:     in,
			Hidden: h,
			W:      make([]float32, 4*h*(in+h)),
			B:      make([]float32, 4*h),
		}
		in = h
	}
	n.Head = Dense{In: in, Out: outputs, W: make([]float32, outputs*in), B: make([]float32, outputs)}
	return n
}

// Inputs returns the width of the input vector of one step.
func (n *Network) Inputs() int { return n.Layers[0].In }

// Outputs returns the number of values predicted per step.
func (n *Network) Outputs() int { return n.Head.Out }

// Hidden returns the layer sizes.
func (n *Network) Hidden() []int {
	h := make([]int, len(n.Layers))
	for i, l := range n.Layers {
		h[i] = l.Hidden
	}
	return h
}

// check panics if the weight slices do not match the declared shapes.
func (n *Network) check() {
	in := -1
	for l, ly := range n.Layers {
		if in >= 0 && ly.In != in {
			panic(fmt.Sprintf("model: layer %d input %d != previous hidden %d", l, ly.In, in))
		}
		if len(ly.W) != 4*ly.Hidden*(ly.In+ly.Hidden) || len(ly.B) != 4*ly.Hidden {
			panic(fmt.Sprintf("model: layer %d weights do not match shape %d→%d", l, ly.In, ly.Hidden))
		}
		in = ly.Hidden
	}
	if n.Head.In != in || len(n.Head.W) != n.Head.In*n.Head.Out || len(n.Head.B) != n.Head.Out {
		panic("model: head weights do not match shape")
	}
}

// State is the recurrent state of one series: h and c of every layer.
// The zero-length State is not usable; make one with Network.NewState.
// A State is not safe for concurrent use.
type State struct {
	H [][]float32 // H[l] has Layers[l].Hidden values
	C [][]float32 // C[l] has Layers[l].Hidden values
}

// NewState returns a zeroed state for n.
func (n *Network) NewState() *State {
	s := &State{H: make([][]float32, len(n.Layers)), C: make([][]float32, len(n.Layers))}
	for l, ly := range n.Layers {
		s.H[l] = make([]float32, ly.Hidden)
		s.C[l] = make([]float32, ly.Hidden)
	}
	return s
}

// Reset zeroes the state in place.
func (s *State) Reset() {
	for l := range s.H {
		clear(s.H[l])
		clear(s.C[l])
	}
}

// CopyFrom copies o into s; both must belong to networks of the same shape.
func (s *State) CopyFrom(o *State) {
	for l := range s.H {
		copy(s.H[l], o.H[l])
		copy(s.C[l], o.C[l])
	}
}

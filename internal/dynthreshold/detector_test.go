package dynthreshold

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// synthetic returns n readings of a daily-cycle sensor with Gaussian noise
// and a few injected faults (level shifts, spikes, a stuck stretch), with
// the errors of a model that knows the cycle: |y − cycle|.
func synthetic(seed uint64, n int) []Reading {
	rng := rand.New(rand.NewPCG(seed, 7))
	rs := make([]Reading, n)
	for i := range rs {
		cycle := 10 + 3*math.Sin(2*math.Pi*float64(i)/288)
		y := cycle + 0.3*rng.NormFloat64()
		switch {
		case i%3000 >= 2500 && i%3000 < 2560: // level shift
			y += 4
		case i%5000 == 4321: // spike
			y += 15
		case i%7000 >= 6000 && i%7000 < 6400: // stuck sensor: errors drop
			y = cycle
		}
		rs[i] = Reading{Time: t0.Add(time.Duration(i) * 5 * time.Minute), Value: y, Error: math.Abs(y - cycle)}
	}
	return rs
}

func testPrior() Prior {
	return Prior{Count: 1000, Mean: 0.24, Std: 0.05, P99: 0.37, P999: 0.42, Max: 0.45}
}

func mustNew(t testing.TB, cfg Config, p Prior) *Detector {
	t.Helper()
	d, err := New(cfg, p)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func allRules() []Rule { return rules }

func TestScoreProperties(t *testing.T) {
	for _, rule := range allRules() {
		t.Run(string(rule), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Rule = rule
			d := mustNew(t, cfg, testPrior())
			flagged := 0
			for _, r := range synthetic(1, 12000) {
				dec, err := d.Observe(r)
				if err != nil {
					t.Fatal(err)
				}
				if dec.Score < 0 || dec.Score > 1 || (dec.Score >= 0.5) != dec.Flagged {
					t.Fatalf("seq %d: score %v, flagged %v", dec.Seq, dec.Score, dec.Flagged)
				}
				if dec.Flagged {
					flagged++
				}
			}
			if flagged == 0 {
				t.Errorf("nothing flagged: the property was not exercised")
			}
		})
	}
}

// For a fixed threshold in force, the score is non-decreasing in how far
// e_s lies beyond it, on each side of the mean.
func TestScoreMonotone(t *testing.T) {
	d := mustNew(t, DefaultConfig(), testPrior())
	d.th = threshold{gate: true, inverseArmed: true, mu: 1, sigma: 0.2, zUp: 3, zDown: 4,
		epsUp: 1.6, epsDown: 1.8, floor: 0.1, up: 1.7, down: 1.85}
	prevUp, prevDown := -1.0, -1.0
	for k := 0; k <= 4000; k++ {
		x := float64(k) / 1000 // 0 … 4
		if x >= 1 {
			dec := d.decide(x)
			if dec.Score < prevUp {
				t.Fatalf("up: score fell from %v to %v at e_s = %v", prevUp, dec.Score, x)
			}
			prevUp = dec.Score
			if dec.Flagged != (x >= 1.7) || (x >= 1.6 && x < 1.7) != dec.Pruned {
				t.Fatalf("e_s = %v: flagged %v pruned %v", x, dec.Flagged, dec.Pruned)
			}
		}
		if x > 0 && x <= 1 { // e_s going down from μ (exclusive)
			dec := d.decide(1 - x)
			if dec.Score < prevDown {
				t.Fatalf("down: score fell from %v to %v at e_s = %v", prevDown, dec.Score, 1-x)
			}
			prevDown = dec.Score
		}
	}
	if s := score(1, true); s != 0.5 {
		t.Errorf("score at the threshold = %v, want 0.5", s)
	}
	if s := score(math.Inf(1), true); s != 1 {
		t.Errorf("score at infinity = %v", s)
	}
	if s := score(1, false); s >= 0.5 {
		t.Errorf("unflagged score %v ≥ 0.5", s)
	}
}

func TestWarmUpUsesPrior(t *testing.T) {
	cfg := DefaultConfig()
	d := mustNew(t, cfg, testPrior())
	// The first reading is already judged against the prior: max(0.24 +
	// 4·0.05, 0.42) = 0.44.
	dec, _ := d.Observe(Reading{Time: t0, Value: 1, Error: 5})
	if !dec.WarmUp || !dec.Flagged || dec.Epsilon != 0.44 || dec.Event != EventOpened {
		t.Fatalf("first reading: %+v", dec)
	}
	d = mustNew(t, cfg, testPrior())
	for i, r := range synthetic(2, 1000) {
		dec, _ := d.Observe(r)
		if want := i < cfg.WarmUp; dec.WarmUp != want {
			t.Fatalf("reading %d: WarmUp = %v, want %v", i, dec.WarmUp, want)
		}
	}
	// A zero prior flags nothing during warm-up.
	d = mustNew(t, cfg, Prior{})
	if dec, _ := d.Observe(Reading{Time: t0, Value: 1, Error: 1e9}); dec.Flagged {
		t.Fatalf("zero prior flagged: %+v", dec)
	}
}

func TestInvalidReading(t *testing.T) {
	d := mustNew(t, DefaultConfig(), testPrior())
	for _, r := range synthetic(3, 500) {
		d.Observe(r)
	}
	before, _ := d.MarshalBinary()
	for _, r := range []Reading{{Value: math.NaN()}, {Error: math.Inf(1)}, {Error: -1}} {
		if _, err := d.Observe(r); !errors.Is(err, ErrInvalidReading) {
			t.Errorf("%+v: err = %v", r, err)
		}
	}
	after, _ := d.MarshalBinary()
	if !bytes.Equal(before, after) {
		t.Error("an invalid reading changed the state")
	}
}

// fixedDetector flags e_s > 1 with no smoothing, so that episodes can be
// driven reading by reading.
// AlertScore is ≥ 0.5 exactly on the readings that open an episode, equals
// Score there and never exceeds Score.
func TestAlertScore(t *testing.T) {
	d := fixedDetector(t, EpisodeConfig{Quiet: 2, Cooldown: 2})
	//               open     in episode   closed cool-down   open   unflagged
	errs := []float64{0, 1.5, 3, 0.5, 0, 0, 2, 0.9, 0, 0, 0, 4, 0.99}
	opened := 0
	for i, e := range errs {
		dec, err := d.Observe(Reading{Time: t0.Add(time.Duration(i) * time.Minute), Error: e})
		if err != nil {
			t.Fatal(err)
		}
		a := dec.AlertScore()
		if (a >= 0.5) != (dec.Event == EventOpened) || a > dec.Score || (dec.Event == EventOpened && a != dec.Score) {
			t.Fatalf("reading %d: alert score %v, score %v, event %v", i, a, dec.Score, dec.Event)
		}
		if dec.Flagged && dec.Event != EventOpened && a >= 0.5 {
			t.Fatalf("reading %d: flagged inside an episode alerts again", i)
		}
		if dec.Event == EventOpened {
			opened++
		}
	}
	if opened != 2 {
		t.Errorf("%d episodes opened, want 2 (the one at reading 6 is held back by the cool-down)", opened)
	}
}

func fixedDetector(t *testing.T, ep EpisodeConfig) *Detector {
	cfg := DefaultConfig()
	cfg.Rule, cfg.Fixed, cfg.SmoothingSpan, cfg.Episode = RuleFixed, 1, 1, ep
	return mustNew(t, cfg, Prior{})
}

func TestEpisodes(t *testing.T) {
	type ev struct {
		seq  uint64
		kind EventKind
		id   uint64
	}
	tests := []struct {
		name string
		ep   EpisodeConfig
		errs []float64 // > 1 is flagged; the score grows with the error
		want []ev
	}{
		{
			name: "hysteresis merges a gap shorter than the quiet period",
			ep:   EpisodeConfig{Quiet: 3},
			errs: []float64{0, 2, 3, 0, 0, 2.5, 0, 0, 0, 0},
			want: []ev{{1, EventOpened, 1}, {2, EventUpdated, 1}, {8, EventClosed, 1}},
		},
		{
			name: "minimum duration holds the episode open",
			ep:   EpisodeConfig{Quiet: 1, MinReadings: 5},
			errs: []float64{2, 0, 0, 0, 0, 0},
			want: []ev{{0, EventOpened, 0}, {4, EventClosed, 0}},
		},
		{
			name: "cool-down absorbs a relapse",
			ep:   EpisodeConfig{Quiet: 1, Cooldown: 3},
			errs: []float64{2, 0, 2, 0, 0, 0, 2, 0},
			want: []ev{{0, EventOpened, 0}, {1, EventClosed, 0}, {6, EventOpened, 6}, {7, EventClosed, 6}},
		},
		{
			name: "quiet period in event time",
			ep:   EpisodeConfig{Quiet: 1, QuietFor: 3 * time.Minute}, // readings are 1 minute apart
			errs: []float64{2, 0, 0, 0, 0},
			want: []ev{{0, EventOpened, 0}, {3, EventClosed, 0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := fixedDetector(t, tt.ep)
			var got []ev
			for i, e := range tt.errs {
				dec, err := d.Observe(Reading{Time: t0.Add(time.Duration(i) * time.Minute), Value: 0, Error: e})
				if err != nil {
					t.Fatal(err)
				}
				if dec.Flagged != (e > 1) {
					t.Fatalf("reading %d: flagged %v", i, dec.Flagged)
				}
				if dec.Event != EventNone {
					got = append(got, ev{dec.Seq, dec.Event, dec.Episode.ID})
				}
				if tt.name == "cool-down absorbs a relapse" && i == 2 && !dec.CoolDown {
					t.Errorf("reading 2 not marked CoolDown: %+v", dec)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("events %v, want %v", got, tt.want)
			}
		})
	}
}

// decode(encode(s)) must make identical decisions, wherever the state is
// cut: inside a batch, on a batch boundary, in warm-up, in an episode.
func TestStateRoundTrip(t *testing.T) {
	rs := synthetic(4, 9000)
	for _, rule := range allRules() {
		cuts := []int{0, 69, 2101, 4321}
		if rule == RuleTelemanom {
			cuts = []int{0, 1, 69, 70, 300, 2099, 2100, 2101, 2533, 4321, 6100}
		}
		for _, cut := range cuts {
			cfg := DefaultConfig()
			cfg.Rule = rule
			a := mustNew(t, cfg, testPrior())
			for _, r := range rs[:cut] {
				if _, err := a.Observe(r); err != nil {
					t.Fatal(err)
				}
			}
			blob, err := a.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if len(blob) != a.EncodedSize() {
				t.Fatalf("encoded %d bytes, EncodedSize says %d", len(blob), a.EncodedSize())
			}
			b := mustNew(t, cfg, testPrior())
			if err := b.UnmarshalBinary(blob); err != nil {
				t.Fatalf("%s cut %d: %v", rule, cut, err)
			}
			// Long enough for the window to turn over completely.
			for i, r := range rs[cut:min(cut+2300, len(rs))] {
				da, _ := a.Observe(r)
				db, _ := b.Observe(r)
				if !reflect.DeepEqual(da, db) {
					t.Fatalf("%s cut %d: reading %d differs:\n%+v\n%+v", rule, cut, cut+i, da, db)
				}
			}
			ea, _ := a.MarshalBinary()
			eb, _ := b.MarshalBinary()
			if !bytes.Equal(ea, eb) {
				t.Fatalf("%s cut %d: states diverged", rule, cut)
			}
		}
	}
}

func TestStateSize(t *testing.T) {
	d := mustNew(t, DefaultConfig(), testPrior())
	largest := 0
	for _, r := range synthetic(5, 2300) {
		d.Observe(r)
		largest = max(largest, d.EncodedSize())
	}
	t.Logf("largest encoded state at h = 2100: %d bytes", largest)
	if largest > 10000 {
		t.Errorf("state %d bytes > 10 KB", largest)
	}
}

func TestStateIncompatible(t *testing.T) {
	d := mustNew(t, DefaultConfig(), testPrior())
	for _, r := range synthetic(6, 500) {
		d.Observe(r)
	}
	blob, _ := d.MarshalBinary()
	cfg := DefaultConfig()
	cfg.Batch = 60
	cfg.WarmUp = 420
	other := mustNew(t, cfg, testPrior())
	if err := other.UnmarshalBinary(blob); !errors.Is(err, ErrIncompatibleState) {
		t.Fatalf("other geometry: err = %v", err)
	}
	blob[len(blob)/2] ^= 1
	fresh := mustNew(t, DefaultConfig(), testPrior())
	if err := fresh.UnmarshalBinary(blob); err == nil || errors.Is(err, ErrIncompatibleState) {
		t.Fatalf("flipped bit: err = %v", err)
	}
	if fresh.Seen() != 0 {
		t.Fatal("failed decode changed the detector")
	}
}

func TestConfig(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var c Config
	c.RegisterFlags(fs)
	if err := fs.Parse([]string{"-threshold.rule=iqr", "-threshold.episode.quiet-for=5m"}); err != nil {
		t.Fatal(err)
	}
	if c.Rule != RuleIQR || c.Episode.QuietFor != 5*time.Minute || c.History() != 2100 {
		t.Fatalf("parsed %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"-threshold.rule=bogus"}); err == nil {
		t.Fatal("bogus rule accepted")
	}
	bad := []func(*Config){
		func(c *Config) { c.Batch = 0 },
		func(c *Config) { c.P = 1 },
		func(c *Config) { c.WarmUp = 10 },
		func(c *Config) { c.Percentile = 0 },
		func(c *Config) { c.MinSpread = math.NaN() },
		func(c *Config) { c.Episode.Quiet, c.Episode.QuietFor = 0, 0 },
	}
	for i, f := range bad {
		c := DefaultConfig()
		f(&c)
		if c.Validate() == nil {
			t.Errorf("bad config %d validated", i)
		}
	}
}

func TestPriorFrom(t *testing.T) {
	p, err := PriorFrom([]float64{1, 2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	// mean 2.5, population σ √1.25, numpy percentiles 3.97 and 3.997.
	want := Prior{Count: 4, Mean: 2.5, Std: math.Sqrt(1.25), P99: 3.97, P999: 3.997, Max: 4}
	if math.Abs(p.P99-want.P99) > 1e-12 || math.Abs(p.P999-want.P999) > 1e-12 {
		t.Fatalf("PriorFrom = %+v, want %+v", p, want)
	}
	p.P99, p.P999 = want.P99, want.P999
	if p != want {
		t.Fatalf("PriorFrom = %+v, want %+v", p, want)
	}
	if _, err := PriorFrom([]float64{1, math.NaN()}); !errors.Is(err, ErrInvalidReading) {
		t.Fatalf("NaN: err = %v", err)
	}
}

func TestObserveDoesNotAllocate(t *testing.T) {
	d := mustNew(t, DefaultConfig(), testPrior())
	rs := synthetic(8, 6000)
	for _, r := range rs[:3000] {
		d.Observe(r)
	}
	i := 3000
	allocs := testing.AllocsPerRun(2000, func() {
		d.Observe(rs[i])
		i++
	})
	if allocs != 0 {
		t.Errorf("Observe allocates %v times per reading", allocs)
	}
}

func TestValuesPercentile(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		cfg := DefaultConfig()
		cfg.Batch, cfg.Windows, cfg.WarmUp = 7, 5, 7
		d := mustNew(t, cfg, testPrior())
		rng := rand.New(rand.NewPCG(seed, 1))
		for i := 0; i < 7*int(3+seed); i++ {
			y := float64(rng.IntN(9)) // ties
			if seed == 2 {
				y = rng.NormFloat64()
			}
			d.Observe(Reading{Time: t0, Value: y, Error: rng.Float64()})
			if d.seen%7 != 0 {
				continue
			}
			m := int(min(d.seen, uint64(d.h)))
			fb := (d.seen - uint64(m)) / 7
			slots := make([]int, m/7)
			var all []float64
			for k := range slots {
				slots[k] = int((fb + uint64(k)) % 5)
				for j := 0; j < 7; j++ {
					all = append(all, d.yAt(slots[k], j))
				}
			}
			slices.Sort(all)
			d.takeScratch()
			for _, q := range []float64{0, 5, 50, 95, 99, 100} {
				if got, want := d.valuesPercentile(slots, q), percentileSorted(all, q); got != want {
					t.Fatalf("seed %d, %d readings, q %v: %v, want %v", seed, d.seen, q, got, want)
				}
			}
			d.giveScratch()
			if got, want := d.valuesStd(slots), std(all, mean(all)); math.Abs(got-want) > 1e-12*(1+want) {
				t.Fatalf("std %v, want %v", got, want)
			}
		}
	}
}

// On a window where no z qualifies (a sine wave never reaches μ + 2.5σ),
// the threshold in force is the lowest grid ε above the window, μ + 2.5σ,
// and pruning asks a new excursion to clear the window's largest error by
// p: max/(1 − p).
func TestClearThresholdAndPruning(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Batch, cfg.Windows, cfg.WarmUp, cfg.ErrorBuffer, cfg.SmoothingSpan, cfg.MinError = 10, 10, 50, 3, 1, 0
	d := mustNew(t, cfg, Prior{}) // no flags in warm-up
	wave := func(i int) float64 { return 1 + 0.1*math.Sin(2*math.Pi*float64(i)/20) }
	for i := 0; i < 100; i++ {
		if _, err := d.Observe(Reading{Time: t0, Value: 0, Error: wave(i)}); err != nil {
			t.Fatal(err)
		}
	}
	// Over a whole number of periods μ = 1 and σ = 0.1/√2; the window's
	// largest error is 1.1. Tolerance: the window is stored as float32 then
	// 16-bit codes over each batch's range (≤ 0.2/65535 ≈ 3e-6), so 1e-5.
	sd := 0.1 / math.Sqrt2
	const tol = 1e-5
	if d.th.zUp != 2.5 || math.Abs(d.th.epsUp-(1+2.5*sd)) > tol {
		t.Fatalf("z = %v, ε = %v; want 2.5, %v", d.th.zUp, d.th.epsUp, 1+2.5*sd)
	}
	if cut := 1.1 / (1 - 0.13); math.Abs(d.th.up-cut) > tol {
		t.Fatalf("effective threshold %v, want %v", d.th.up, cut)
	}
	if th := d.Threshold(); th.WarmUp || th.ZUp != 2.5 || th.Upper != d.th.up || th.Epsilon != d.th.epsUp {
		t.Fatalf("Threshold() = %+v", th)
	}
	pruned, _ := d.Observe(Reading{Time: t0, Value: 0, Error: 1.2}) // above ε, below the cutoff
	if pruned.Flagged || !pruned.Pruned || pruned.Score >= 0.5 {
		t.Fatalf("1.2: %+v", pruned)
	}
	hit, _ := d.Observe(Reading{Time: t0, Value: 0, Error: 1.3})
	if !hit.Flagged || hit.Pruned || hit.Direction != Up || hit.Event != EventOpened || hit.Z != 2.5 {
		t.Fatalf("1.3: %+v", hit)
	}
}

// A sustained drop of the errors (a stuck sensor the model now predicts
// perfectly) is flagged downwards, with ε and the threshold reported as
// lower bounds on e_s. The values span [−1, 1], so the spread floor (5 %
// of their 95th−5th percentile range, about 0.1) stays below the errors.
func TestDropFlaggedDown(t *testing.T) {
	d := mustNew(t, DefaultConfig(), testPrior())
	rng := rand.New(rand.NewPCG(12, 1))
	down := 0
	for i := 0; i < 4000; i++ {
		e := math.Abs(1 + 0.1*rng.NormFloat64())
		if i >= 3000 && i < 3300 {
			e = 0.05
		}
		dec, err := d.Observe(Reading{Time: t0.Add(time.Duration(i) * time.Minute), Value: math.Sin(float64(i) / 50), Error: e})
		if err != nil {
			t.Fatal(err)
		}
		if dec.Flagged && dec.Direction == Down {
			down++
			if i < 3000 || !(dec.Epsilon < dec.Mu) || dec.Threshold > dec.Epsilon || dec.ES > dec.Threshold {
				t.Fatalf("reading %d: %+v", i, dec)
			}
		}
	}
	if down == 0 {
		t.Fatal("the drop was not flagged")
	}
}

// The round trip also holds for rings of one to three batches, where the
// stored window (windows − 1 batches) is empty or nearly so.
func TestStateRoundTripSmallRings(t *testing.T) {
	rs := synthetic(3, 500)
	for _, w := range []int{1, 2, 3} {
		cfg := DefaultConfig()
		cfg.Batch, cfg.Windows, cfg.WarmUp, cfg.ErrorBuffer = 7, w, 7, 3
		for _, cut := range []int{0, 6, 7, 8, 50, 100} {
			a := mustNew(t, cfg, testPrior())
			for _, r := range rs[:cut] {
				a.Observe(r)
			}
			blob, _ := a.MarshalBinary()
			b := mustNew(t, cfg, testPrior())
			if err := b.UnmarshalBinary(blob); err != nil {
				t.Fatalf("windows %d, cut %d: %v", w, cut, err)
			}
			for i, r := range rs[cut:] {
				da, _ := a.Observe(r)
				db, _ := b.Observe(r)
				if !reflect.DeepEqual(da, db) {
					t.Fatalf("windows %d, cut %d: reading %d differs", w, cut, cut+i)
				}
			}
		}
	}
}

package report

import (
	"image/color"
	"math"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// The palette: colour-blind safe (Okabe–Ito), with red kept for flags.
var (
	colActual    = color.RGBA{R: 0x1f, G: 0x4e, B: 0x8c, A: 0xff} // dark blue
	colPredicted = color.RGBA{R: 0xe6, G: 0x9f, B: 0x00, A: 0xff} // orange
	colError     = color.RGBA{R: 0x6a, G: 0x3d, B: 0x9a, A: 0xff} // purple
	colThreshold = color.RGBA{R: 0x33, G: 0x33, B: 0x33, A: 0xff} // near black
	colFlag      = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff} // red
	colExcluded  = color.RGBA{R: 0xe8, G: 0xe3, B: 0xd3, A: 0xff} // light sand
	colTrain     = color.RGBA{R: 0x00, G: 0x72, B: 0xb2, A: 0xff} // blue
	colVal       = color.RGBA{R: 0xd5, G: 0x5e, B: 0x00, A: 0xff} // vermillion
	colBest      = color.RGBA{R: 0x00, G: 0x9e, B: 0x73, A: 0xff} // green
	colGrid      = color.RGBA{R: 0xe4, G: 0xe7, B: 0xeb, A: 0xff}
	colAxis      = color.RGBA{R: 0x55, G: 0x5b, B: 0x66, A: 0xff}
)

// gapLine is a polyline that breaks at NaN y values (plotter.Line rejects
// NaN). An isolated finite point between two gaps is drawn as a dot so it
// does not vanish.
type gapLine struct {
	xs, ys []float64
	style  draw.LineStyle
	// positive leaves out non-positive y values too (for log scales).
	positive bool
}

func (l *gapLine) ok(y float64) bool {
	return finite(y) && (!l.positive || y > 0)
}

func (l *gapLine) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	var run []vg.Point
	flush := func() {
		switch len(run) {
		case 0:
		case 1:
			r := l.style.Width * 1.2
			c.DrawGlyph(draw.GlyphStyle{Color: l.style.Color, Radius: r, Shape: draw.CircleGlyph{}}, run[0])
		default:
			// The rasterizer's cost grows with the square of the cells one
			// path covers; strokes of a few dozen points keep it linear.
			const chunk = 48
			for i := 0; i < len(run)-1; i += chunk {
				c.StrokeLines(l.style, c.ClipLinesXY(run[i:min(len(run), i+chunk+1)])...)
			}
		}
		run = nil
	}
	for i := range min(len(l.xs), len(l.ys)) {
		if !l.ok(l.ys[i]) {
			flush()
			continue
		}
		run = append(run, vg.Point{X: tx(l.xs[i]), Y: ty(l.ys[i])})
	}
	flush()
}

func (l *gapLine) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	for i := range min(len(l.xs), len(l.ys)) {
		if !l.ok(l.ys[i]) {
			continue
		}
		xmin, xmax = math.Min(xmin, l.xs[i]), math.Max(xmax, l.xs[i])
		ymin, ymax = math.Min(ymin, l.ys[i]), math.Max(ymax, l.ys[i])
	}
	return xmin, xmax, ymin, ymax
}

func (l *gapLine) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(l.style, c.Min.X, y, c.Max.X, y)
}

// markers are glyphs at data points, without entering the axis range
// computation more than the points themselves do.
type markers struct {
	xs, ys []float64
	style  draw.GlyphStyle
}

func (m *markers) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	for i := range min(len(m.xs), len(m.ys)) {
		pt := vg.Point{X: tx(m.xs[i]), Y: ty(m.ys[i])}
		if c.Contains(pt) {
			c.DrawGlyph(m.style, pt)
		}
	}
}

func (m *markers) DataRange() (xmin, xmax, ymin, ymax float64) {
	return (&gapLine{xs: m.xs, ys: m.ys}).DataRange()
}

func (m *markers) Thumbnail(c *draw.Canvas) {
	c.DrawGlyph(m.style, c.Center())
}

// bands shades x intervals over the full height of the data area. They do
// not widen the axes: a band outside the plotted range is not drawn.
type bands struct {
	spans [][2]float64
	color color.Color
}

func (b *bands) Plot(c draw.Canvas, p *plot.Plot) {
	tx, _ := p.Transforms(&c)
	for _, s := range b.spans {
		x0, x1 := tx(s[0]), tx(s[1])
		if x1 < c.Min.X || x0 > c.Max.X {
			continue
		}
		x0, x1 = max(x0, c.Min.X), min(x1, c.Max.X)
		if x1-x0 < 1.5 { // keep a one-reading span visible
			mid := (x0 + x1) / 2
			x0, x1 = mid-0.75, mid+0.75
		}
		c.FillPolygon(b.color, []vg.Point{
			{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y},
		})
	}
}

func (b *bands) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(b.color, []vg.Point{
		{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y},
	})
}

// vline is a vertical line at x over the full height of the data area.
type vline struct {
	x     float64
	style draw.LineStyle
}

func (v *vline) Plot(c draw.Canvas, p *plot.Plot) {
	tx, _ := p.Transforms(&c)
	x := tx(v.x)
	if x < c.Min.X || x > c.Max.X {
		return
	}
	c.StrokeLine2(v.style, x, c.Min.Y, x, c.Max.Y)
}

func (v *vline) Thumbnail(c *draw.Canvas) {
	x := c.Center().X
	c.StrokeLine2(v.style, x, c.Min.Y, x, c.Max.Y)
}

// timeSteps are the tick spacings a time axis may use, in seconds.
var timeSteps = []float64{
	1, 2, 5, 10, 15, 30,
	60, 2 * 60, 5 * 60, 10 * 60, 15 * 60, 30 * 60,
	3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600,
	86400, 2 * 86400, 7 * 86400, 14 * 86400,
}

const maxTimeTicks = 8

// timeAxis returns the tick marker for a time axis over [x0, x1] (Unix
// seconds): ticks on round UTC boundaries (whole minutes, hours, days,
// Mondays or months), at most maxTimeTicks of them, labelled with as much
// of the date and time as the spacing needs.
func timeAxis(x0, x1 float64) plot.TimeTicks {
	span := x1 - x0
	step := -1.0 // months
	for _, s := range timeSteps {
		if span/s <= maxTimeTicks {
			step = s
			break
		}
	}
	format := "2006-01"
	switch {
	case step < 0:
	case step < 60:
		format = "15:04:05"
	case step < 86400 && span < 86400:
		format = "15:04"
	case step < 86400:
		format = "Jan 2\n15:04"
	default:
		format = "Jan 2"
	}
	return plot.TimeTicks{Ticker: alignedTicks{step: step}, Format: format, Time: plot.UTCUnixTime}
}

// alignedTicks puts major ticks every step seconds on UTC boundaries (weeks
// start on Monday); step < 0 means calendar months, every k months.
type alignedTicks struct{ step float64 }

func (a alignedTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || !finite(lo) || !finite(hi) {
		return nil
	}
	var ticks []plot.Tick
	if a.step < 0 {
		t := time.Unix(int64(math.Floor(lo)), 0).UTC()
		t = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		months := int((hi-lo)/(30*86400)/maxTimeTicks) + 1
		for ; float64(t.Unix()) <= hi; t = t.AddDate(0, months, 0) {
			if v := float64(t.Unix()); v >= lo {
				ticks = append(ticks, plot.Tick{Value: v, Label: "x"})
			}
		}
		return ticks
	}
	offset := 0.0
	if a.step >= 7*86400 {
		offset = 4 * 86400 // 1970-01-01 was a Thursday; align to Mondays
	}
	first := math.Ceil((lo-offset)/a.step)*a.step + offset
	for v := first; v <= hi; v += a.step {
		ticks = append(ticks, plot.Tick{Value: v, Label: "x"}) // TimeTicks formats the label
	}
	return ticks
}

// intTicks marks whole numbers (epochs) at a round spacing.
type intTicks struct{}

func (intTicks) Ticks(lo, hi float64) []plot.Tick {
	span := hi - lo
	step := 1.0
	for _, s := range []float64{1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000} {
		step = s
		if span/s <= 10 {
			break
		}
	}
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: formatTickInt(v)})
	}
	return ticks
}

func formatTickInt(v float64) string {
	return formatInt(int64(v))
}

// grid draws light lines at the major ticks of the given tickers (nil:
// none), whatever the axes themselves show.
type grid struct {
	x, y  plot.Ticker
	style draw.LineStyle
}

func (g *grid) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	if g.x != nil {
		for _, t := range g.x.Ticks(p.X.Min, p.X.Max) {
			if t.IsMinor() {
				continue
			}
			if x := tx(t.Value); x >= c.Min.X && x <= c.Max.X {
				c.StrokeLine2(g.style, x, c.Min.Y, x, c.Max.Y)
			}
		}
	}
	if g.y != nil {
		for _, t := range g.y.Ticks(p.Y.Min, p.Y.Max) {
			if t.IsMinor() {
				continue
			}
			if y := ty(t.Value); y >= c.Min.Y && y <= c.Max.Y {
				c.StrokeLine2(g.style, c.Min.X, y, c.Max.X, y)
			}
		}
	}
}

// trimmedTicks are plot.DefaultTicks with trailing zeros dropped from the
// labels ("17.5" rather than "17.50").
type trimmedTicks struct{}

func (trimmedTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if l := ts[i].Label; strings.Contains(l, ".") && !strings.ContainsAny(l, "eE") {
			ts[i].Label = strings.TrimRight(strings.TrimRight(l, "0"), ".")
		}
	}
	return ts
}

// logTicks mark a logarithmic axis: labelled ticks at whole decades
// ("1e5" rather than "100000" for large and small ones), unlabelled ones
// at 2–9 times each decade. Unlike plot.LogTicks they do not lose a decade
// to rounding (math.Log10(0.001) is a hair above −3).
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi > lo) || !finite(hi) {
		return nil
	}
	first := int(math.Floor(math.Log10(lo) + 1e-9))
	last := int(math.Ceil(math.Log10(hi) - 1e-9))
	var ts []plot.Tick
	for e := first; e <= last; e++ {
		v := math.Pow(10, float64(e))
		label := strconv.FormatFloat(v, 'f', -1, 64)
		if e >= 4 || e < -3 {
			label = "1e" + strconv.Itoa(e)
		}
		ts = append(ts, plot.Tick{Value: v, Label: label})
		if e == last {
			break
		}
		for k := 2; k <= 9; k++ {
			ts = append(ts, plot.Tick{Value: v * float64(k)})
		}
	}
	return ts
}

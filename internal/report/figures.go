package report

import (
	"bytes"
	"fmt"
	"image/color"
	"image/png"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Figure sizes, in CSS pixels (the PNGs are drawn at 96 dots per inch, so
// one image pixel is one CSS pixel).
const (
	dpi          = 96
	seriesWidth  = 1100
	seriesHeight = 460
	seriesOnly   = 300 // series figure without the detector panel
	lossWidth    = 620
	lossHeight   = 290
	legendHeight = 24
	// plotBuckets is the number of downsampling buckets across a series
	// figure: about one per pixel of its data area.
	plotBuckets = 1000
)

func px(n float64) vg.Length { return vg.Length(n * 72 / dpi) }

var (
	sansFont  = font.Font{Typeface: "Liberation", Variant: "Sans"}
	tickFont  = font.From(sansFont, 9)
	labelFont = font.From(sansFont, 10)
)

// newPlot returns a plot in the report's house style.
func newPlot() *plot.Plot {
	p := plot.New()
	p.BackgroundColor = color.White
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Color = colAxis
		a.Width = vg.Points(0.6)
		a.Padding = vg.Points(2)
		a.Tick.Color = colAxis
		a.Tick.Width = vg.Points(0.6)
		a.Tick.Length = vg.Points(4)
		a.Tick.Label.Font = tickFont
		a.Tick.Label.Color = colAxis
		a.Label.TextStyle.Font = labelFont
		a.Label.TextStyle.Color = colAxis
		a.Label.Padding = vg.Points(4)
	}
	return p
}

var gridStyle = draw.LineStyle{Color: colGrid, Width: vg.Points(0.6)}

// legendItem is one entry of the legend row drawn above a figure.
type legendItem struct {
	label string
	thumb plot.Thumbnailer
}

// drawLegend draws the items in one row, left to right from x, centred
// vertically in c.
func drawLegend(c draw.Canvas, x vg.Length, items []legendItem) {
	sty := text.Style{
		Color:   color.RGBA{R: 0x22, G: 0x26, B: 0x2e, A: 0xff},
		Font:    labelFont,
		XAlign:  draw.XLeft,
		YAlign:  draw.YCenter,
		Handler: plot.DefaultTextHandler,
	}
	y := c.Center().Y
	const thumbW, thumbH, gap = 16, 8, 14
	for _, it := range items {
		tc := c
		tc.Rectangle = vg.Rectangle{
			Min: vg.Point{X: x, Y: y - thumbH/2},
			Max: vg.Point{X: x + thumbW, Y: y + thumbH/2},
		}
		it.thumb.Thumbnail(&tc)
		x += thumbW + 4
		c.FillText(sty, vg.Point{X: x, Y: y}, it.label)
		x += sty.Width(it.label) + gap
	}
}

// encodePNG draws fn on a white canvas of w×h pixels and returns the PNG.
func encodePNG(w, h int, fn func(draw.Canvas)) ([]byte, error) {
	img := vgimg.NewWith(vgimg.UseWH(px(float64(w)), px(float64(h))), vgimg.UseDPI(dpi),
		vgimg.UseBackgroundColor(color.White))
	fn(draw.New(img))
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img.Image()); err != nil {
		return nil, fmt.Errorf("encode png: %w", err)
	}
	return buf.Bytes(), nil
}

// alignX gives the plots' data areas the same left and right edges, as
// plot.Align does for a grid of equal tiles, for canvases of any height.
func alignX(ps []*plot.Plot, cs []draw.Canvas) {
	var left, right vg.Length
	for i, p := range ps {
		d := p.DataCanvas(cs[i])
		left = max(left, d.Min.X-cs[i].Min.X)
		right = max(right, cs[i].Max.X-d.Max.X)
	}
	for i, p := range ps {
		d := p.DataCanvas(cs[i])
		cs[i].Min.X += left - (d.Min.X - cs[i].Min.X)
		cs[i].Max.X -= right - (cs[i].Max.X - d.Max.X)
	}
}

// lossFigure draws a model's training and validation loss per epoch, with
// a logarithmic y axis when the positive losses span more than a factor
// of 30 (logY), and the best epoch marked.
func lossFigure(m *Model) (out []byte, logY bool, err error) {
	n := len(m.Loss)
	xs := make([]float64, n)
	tr := make([]float64, n)
	va := make([]float64, n)
	lo, hi := math.Inf(1), math.Inf(-1)
	hasVal := false
	for i, e := range m.Loss {
		xs[i] = float64(i + 1)
		tr[i], va[i] = e.Train, e.Validation
		for _, v := range []float64{e.Train, e.Validation} {
			if finite(v) && v > 0 {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
		hasVal = hasVal || finite(e.Validation)
	}
	logY = hi > 0 && hi/lo > 30
	p := newPlot()
	p.X.Label.Text = "epoch"
	p.X.Tick.Marker = intTicks{}
	p.Y.Label.Text = "loss (MSE, scaled)"
	p.Y.Tick.Marker = trimmedTicks{}
	trainLine := &gapLine{xs: xs, ys: tr, positive: logY,
		style: draw.LineStyle{Color: colTrain, Width: vg.Points(1.6)}}
	valLine := &gapLine{xs: xs, ys: va, positive: logY,
		style: draw.LineStyle{Color: colVal, Width: vg.Points(1.6)}}
	var yt plot.Ticker = trimmedTicks{}
	if logY {
		// No axis label: gonum/plot centres it on the linear midpoint of
		// the range, which on a log scale pushes the plot down. The
		// caption says what the axis is.
		p.Y.Label.Text = ""
		p.Y.Scale = plot.LogScale{}
		yt = logTicks{}
		p.Y.Tick.Marker = yt
	}
	p.Add(&grid{x: intTicks{}, y: yt, style: gridStyle})
	items := []legendItem{{"training", trainLine}}
	best := m.BestEpoch
	var bestLine *vline
	if best >= 1 && best <= n {
		bestLine = &vline{x: float64(best), style: draw.LineStyle{Color: colBest, Width: vg.Points(1),
			Dashes: []vg.Length{vg.Points(3), vg.Points(2)}}}
		p.Add(bestLine)
	}
	p.Add(trainLine)
	if hasVal {
		p.Add(valLine)
		items = append(items, legendItem{"validation", valLine})
	}
	if bestLine != nil {
		items = append(items, legendItem{fmt.Sprintf("best epoch (%d)", best), bestLine})
		y := va[best-1]
		if !finite(y) || (logY && y <= 0) {
			y = tr[best-1]
		}
		if finite(y) && (!logY || y > 0) {
			p.Add(&markers{xs: []float64{float64(best)}, ys: []float64{y},
				style: draw.GlyphStyle{Color: colBest, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}})
		}
	}
	if !(hi > lo) && !finite(lo) { // nothing plottable: keep the axes sane
		p.Y.Min, p.Y.Max = 0, 1
	}
	p.X.Min, p.X.Max = 1, math.Max(float64(n), 2)
	if logY {
		// Whole decades, so that the axis ends on labelled ticks.
		p.Y.Min = math.Pow(10, math.Floor(math.Log10(lo)))
		p.Y.Max = math.Pow(10, math.Ceil(math.Log10(hi)))
	}
	out, err = encodePNG(lossWidth, lossHeight, func(c draw.Canvas) {
		legend := c
		legend.Min.Y = c.Max.Y - px(legendHeight)
		body := c
		body.Max.Y = legend.Min.Y
		body.Min.X += px(4)
		body.Max.X -= px(12)
		body.Min.Y += px(4)
		p.Draw(body)
		drawLegend(legend, p.DataCanvas(body).Min.X, items)
	})
	return out, logY, err
}

// seriesData is a series' validation slice made ready to plot: x in Unix
// seconds, absent slices nil.
type seriesData struct {
	xs                        []float64
	actual, predicted         []float64
	smoothed, threshold       []float64
	flagged                   []bool
	x0, x1                    float64
	spans                     [][2]float64
	hasDetector, hasFlagged   bool
	nFlagged                  int
	dropped                   []string // names of slices left out for their length
	actualFinite, errorFinite bool
}

func prepare(s *Series) seriesData {
	n := len(s.Times)
	d := seriesData{xs: make([]float64, n)}
	for i, t := range s.Times {
		d.xs[i] = float64(t.UnixNano()) / 1e9
	}
	take := func(name string, v []float64) []float64 {
		switch len(v) {
		case 0:
			return nil
		case n:
			return v
		}
		d.dropped = append(d.dropped, fmt.Sprintf("%s (%d values for %d times)", name, len(v), n))
		return nil
	}
	d.actual = take("actual", s.Actual)
	d.predicted = take("predicted", s.Predicted)
	d.smoothed = take("smoothed error", s.SmoothedError)
	d.threshold = take("threshold", s.Threshold)
	switch len(s.Flagged) {
	case 0:
	case n:
		d.flagged = s.Flagged
	default:
		d.dropped = append(d.dropped, fmt.Sprintf("flagged (%d values for %d times)", len(s.Flagged), n))
	}
	for _, f := range d.flagged {
		if f {
			d.nFlagged++
		}
	}
	d.hasFlagged = d.nFlagged > 0
	d.hasDetector = d.smoothed != nil || d.threshold != nil
	if n > 0 {
		d.x0, d.x1 = d.xs[0], d.xs[0]
		for _, x := range d.xs {
			d.x0, d.x1 = math.Min(d.x0, x), math.Max(d.x1, x)
		}
	}
	for _, sp := range s.Excluded {
		a, b := float64(sp.From.UnixNano())/1e9, float64(sp.To.UnixNano())/1e9
		if b < a {
			a, b = b, a
		}
		if n > 0 && b >= d.x0 && a <= d.x1 {
			d.spans = append(d.spans, [2]float64{a, b})
		}
	}
	d.actualFinite = anyFinite(d.actual) || anyFinite(d.predicted)
	d.errorFinite = anyFinite(d.smoothed) || anyFinite(d.threshold)
	return d
}

func anyFinite(v []float64) bool {
	for _, x := range v {
		if finite(x) {
			return true
		}
	}
	return false
}

// seriesFigure draws a series' validation slice: actual and predicted
// values above, the detector's smoothed error and threshold below, sharing
// the time axis; flagged readings as red dots in both panels; excluded
// spans shaded. Lines are downsampled with minMax to plotBuckets buckets,
// flags thinned to one per bucket.
func seriesFigure(d *seriesData) ([]byte, error) {
	x0, x1 := d.x0, d.x1
	if !(x1 > x0) { // a single reading: give it a minute either side
		x0, x1 = x0-60, x1+60
	}
	tt := timeAxis(x0, x1)
	lineW := vg.Points(1.1)
	var excluded *bands
	if len(d.spans) > 0 {
		excluded = &bands{spans: d.spans, color: colExcluded}
	}
	flagStyle := draw.GlyphStyle{Color: colFlag, Radius: vg.Points(2.6), Shape: draw.CircleGlyph{}}

	top := newPlot()
	top.Y.Label.Text = "value"
	top.Y.Tick.Marker = trimmedTicks{}
	top.Add(&grid{x: tt, y: trimmedTicks{}, style: gridStyle})
	var items []legendItem
	if excluded != nil {
		top.Add(excluded)
		items = append(items, legendItem{"excluded from training", excluded})
	}
	if d.actual != nil {
		xs, ys := minMax(d.xs, d.actual, x0, x1, plotBuckets)
		l := &gapLine{xs: xs, ys: ys, style: draw.LineStyle{Color: colActual, Width: vg.Points(1.2)}}
		top.Add(l)
		if anyFinite(ys) {
			items = append(items, legendItem{"actual", l})
		}
	}
	if d.predicted != nil {
		xs, ys := minMax(d.xs, d.predicted, x0, x1, plotBuckets)
		l := &gapLine{xs: xs, ys: ys, style: draw.LineStyle{Color: colPredicted, Width: lineW}}
		l.style.Color = color.NRGBA{R: colPredicted.R, G: colPredicted.G, B: colPredicted.B, A: 0xd0}
		top.Add(l)
		if anyFinite(ys) {
			items = append(items, legendItem{"predicted", l})
		}
	}
	flagged := &markers{style: flagStyle}
	if d.hasFlagged && d.actual != nil {
		flagged.xs, flagged.ys = thinMarkers(d.xs, d.actual, d.flagged, x0, x1, plotBuckets)
		top.Add(flagged)
	}
	if !d.actualFinite {
		top.Y.Min, top.Y.Max = 0, 1
	}

	plots := []*plot.Plot{top}
	if d.hasDetector {
		bot := newPlot()
		bot.Y.Label.Text = "smoothed error"
		bot.Y.Tick.Marker = trimmedTicks{}
		bot.Add(&grid{x: tt, y: trimmedTicks{}, style: gridStyle})
		if excluded != nil {
			bot.Add(excluded)
		}
		if d.smoothed != nil {
			xs, ys := minMax(d.xs, d.smoothed, x0, x1, plotBuckets)
			l := &gapLine{xs: xs, ys: ys, style: draw.LineStyle{Color: colError, Width: lineW}}
			bot.Add(l)
			if anyFinite(ys) {
				items = append(items, legendItem{"smoothed error", l})
			}
		}
		if d.threshold != nil {
			xs, ys := minMax(d.xs, d.threshold, x0, x1, plotBuckets)
			l := &gapLine{xs: xs, ys: ys, style: draw.LineStyle{Color: colThreshold, Width: vg.Points(1.2),
				Dashes: []vg.Length{vg.Points(4), vg.Points(2.5)}}}
			bot.Add(l)
			if anyFinite(ys) {
				items = append(items, legendItem{"threshold", l})
			}
		}
		if d.hasFlagged && d.smoothed != nil {
			xs, ys := thinMarkers(d.xs, d.smoothed, d.flagged, x0, x1, plotBuckets)
			bot.Add(&markers{xs: xs, ys: ys, style: flagStyle})
			if flagged.xs == nil {
				flagged.xs, flagged.ys = xs, ys // for the legend only
			}
		}
		if !d.errorFinite {
			bot.Y.Min, bot.Y.Max = 0, 1
		}
		plots = append(plots, bot)
	}
	if d.hasFlagged {
		items = append(items, legendItem{fmt.Sprintf("flagged (%s)", formatInt(int64(d.nFlagged))), &markers{style: flagStyle}})
	}
	for _, p := range plots {
		p.X.Min, p.X.Max = x0, x1
		p.X.Tick.Marker = tt
	}
	last := plots[len(plots)-1]
	last.X.Label.Text = timeLabel(x0, x1)
	for _, p := range plots[:len(plots)-1] {
		p.HideX()
	}

	h := seriesOnly
	if len(plots) == 2 {
		h = seriesHeight
	}
	return encodePNG(seriesWidth, h, func(c draw.Canvas) {
		legend := c
		legend.Min.Y = c.Max.Y - px(legendHeight)
		body := c
		body.Max.Y = legend.Min.Y
		body.Min.X += px(4)
		body.Max.X -= px(14)
		body.Min.Y += px(4)
		cs := []draw.Canvas{body}
		if len(plots) == 2 {
			// The upper panel gets 58 % of the height; the lower one also
			// carries the time axis labels.
			split := body.Min.Y + (body.Max.Y-body.Min.Y)*0.42
			upper, lower := body, body
			upper.Min.Y = split + px(6)
			lower.Max.Y = split
			cs = []draw.Canvas{upper, lower}
		}
		alignX(plots, cs)
		for i, p := range plots {
			p.Draw(cs[i])
		}
		drawLegend(legend, plots[0].DataCanvas(cs[0]).Min.X, items)
	})
}

// timeLabel names the time axis with the year(s) it covers, which the
// tick labels leave out.
func timeLabel(x0, x1 float64) string {
	y0 := plot.UTCUnixTime(x0).Year()
	y1 := plot.UTCUnixTime(x1).Year()
	if y0 == y1 {
		return fmt.Sprintf("time (UTC, %d)", y0)
	}
	return fmt.Sprintf("time (UTC, %d–%d)", y0, y1)
}

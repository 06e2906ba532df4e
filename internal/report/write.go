package report

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Defaults of Options.
const (
	// DefaultMaxSeriesPlots is how many series a report draws in detail
	// when Options.MaxSeriesPlots is 0. Each figure adds about 60–120 KiB
	// of HTML.
	DefaultMaxSeriesPlots = 60
	// DefaultMaxLossPlots is how many models get a loss-curve figure when
	// Options.MaxLossPlots is 0.
	DefaultMaxLossPlots = 100
)

// Options tune a report. The zero value is ready to use.
type Options struct {
	// MaxSeriesPlots caps the series drawn in detail across the whole
	// report: 0 means DefaultMaxSeriesPlots, a negative value none. When
	// there are more series, the report plots first those with flagged
	// readings (most flags first), then those with the largest validation
	// MAE relative to the spread (standard deviation) of their actual
	// values, ties in report order; the others are listed in the tables
	// only. Series without validation data never take a slot.
	MaxSeriesPlots int
	// MaxLossPlots caps the models that get a loss-curve figure, in report
	// order: 0 means DefaultMaxLossPlots, a negative value none. Models
	// past the cap show their best epoch and final losses as text.
	MaxLossPlots int
	// Workers is how many figures are drawn at once: 0 means GOMAXPROCS.
	// The output does not depend on it.
	Workers int
}

// Write renders r as one self-contained HTML document with the default
// Options. See Options.Write.
func Write(w io.Writer, r *Run) error { return Options{}.Write(w, r) }

// WriteFile writes the report of r to path atomically with the default
// Options. See Options.WriteFile.
func WriteFile(path string, r *Run) error { return Options{}.WriteFile(path, r) }

// Write renders r as one self-contained HTML document (inline CSS, PNG
// figures as data: URLs, no scripts, nothing fetched) and writes it to w.
// The output depends only on r and o.MaxSeriesPlots/o.MaxLossPlots: the
// same input gives the same bytes on the same platform (PNG bytes may
// differ across platforms). Write reads r and never modifies it; it is
// safe to call concurrently on the same Run.
func (o Options) Write(w io.Writer, r *Run) error {
	if r == nil {
		return errors.New("report: nil run")
	}
	pg, err := o.build(r)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := pageTemplate.Execute(bw, pg); err != nil {
		return fmt.Errorf("report: render html: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: write: %w", err)
	}
	return nil
}

// WriteFile writes the report of r to path atomically: it writes a
// temporary file in the same directory, syncs it and renames it over path
// (mode 0644), so a reader of path sees the old report or the complete new
// one. On an error path is left as it was.
func (o Options) WriteFile(path string, r *Run) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = o.Write(f, r); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	return nil
}

// The page's view model: everything already formatted and escaped-to-be
// by html/template.
type page struct {
	Title     string
	Started   string
	Finished  string
	Duration  string
	Source    string
	Cards     []card
	Notes     []string
	Settings  []KV
	Models    []*modelView
	Series    []*seriesRow
	Skipped   []Skipped
	PlotNote  string
	Decisions []decisionCount
}

type card struct{ Label, Value, Sub string }

type decisionCount struct {
	Label, Class string
	N            int
}

type modelView struct {
	Anchor, Name, Version   string
	Decision, Class, Reason string
	Metrics                 []metricRow
	Loss                    *figure
	LogLoss                 bool // the loss figure's y axis is logarithmic
	LossNote                string
	Epochs, BestEpoch       string
	Duration                string
	NSeries, NSeriesN       string
	Spans                   []spanRow
	Details                 []*seriesDetail
	NoData                  []string // ids of series without validation data
	NotPlotted              int
	src                     *Model
	lossPlot                bool
	finalTrain, finalVal    float64
}

type metricRow struct {
	Label                       string
	Champion, Challenger, Delta string
	ChallengerBetter            bool
	ChampionBetter              bool
}

type spanRow struct {
	Series, From, To, Readings, Why string
}

type seriesRow struct {
	Anchor, ID              string
	ModelAnchor, Model      string
	Readings, Used, UsedPct string
	Excluded                string
	Range, ValMAE, Flagged  string
	Plotted, NoData         bool
	FlaggedN                int
	data                    seriesData
	src                     *Series
	relErr                  float64
	order                   int
	modelIdx                int
	plot                    *figure
	hasData                 bool
}

type seriesDetail struct {
	Anchor, ID string
	Facts      []KV
	Dropped    []string
	Figure     *figure
}

type figure struct {
	Src           template.HTMLAttr
	Width, Height int
	Alt           string
}

func newFigure(b []byte, w, h int, alt string) *figure {
	return &figure{
		// The whole src attribute is built here from PNG bytes (base64 has
		// no quotes or ampersands): safe by construction, and passed as is
		// so that html/template does not escape every '+' as "&#43;".
		Src:   template.HTMLAttr(`src="data:image/png;base64,` + base64.StdEncoding.EncodeToString(b) + `"`),
		Width: w, Height: h, Alt: alt,
	}
}

// badge maps a decision to its CSS class.
func badge(decision string) string {
	switch strings.ToLower(strings.TrimSpace(decision)) {
	case DecisionPromoted:
		return "ok"
	case DecisionKept:
		return "kept"
	case DecisionForced:
		return "warn"
	case DecisionDryRun:
		return "dry"
	case DecisionFailed:
		return "bad"
	}
	return "other"
}

func (o Options) limits() (series, loss, workers int) {
	series, loss, workers = o.MaxSeriesPlots, o.MaxLossPlots, o.Workers
	if series == 0 {
		series = DefaultMaxSeriesPlots
	}
	if loss == 0 {
		loss = DefaultMaxLossPlots
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	return max(series, 0), max(loss, 0), workers
}

func (o Options) build(r *Run) (*page, error) {
	maxSeries, maxLoss, workers := o.limits()
	pg := &page{
		Title:    r.Title,
		Started:  formatTime(r.Started),
		Finished: formatTime(r.Finished),
		Duration: dash,
		Source:   r.Source,
		Notes:    r.Notes,
		Settings: r.Settings,
		Skipped:  r.Skipped,
	}
	if pg.Title == "" {
		pg.Title = "Vigil training run"
	}
	if pg.Source == "" {
		pg.Source = dash
	}
	if !r.Started.IsZero() && !r.Finished.IsZero() {
		pg.Duration = formatDuration(r.Finished.Sub(r.Started))
	}

	var rows []*seriesRow
	totalFlagged, totalUsed := 0, 0
	for mi := range r.Models {
		m := &r.Models[mi]
		mv := &modelView{
			Anchor:   fmt.Sprintf("m%d", mi+1),
			Name:     m.Name,
			Version:  dash,
			Decision: strings.TrimSpace(m.Decision),
			Class:    badge(m.Decision),
			Reason:   m.Reason,
			Epochs:   formatInt(int64(len(m.Loss))),
			Duration: dash,
			NSeries:  plural(len(m.Series), "series", "series"),
			NSeriesN: formatInt(int64(len(m.Series))),
			src:      m,
			lossPlot: len(m.Loss) > 0 && mi < maxLoss,
		}
		if mv.Name == "" {
			mv.Name = fmt.Sprintf("model %d", mi+1)
		}
		if mv.Decision == "" {
			mv.Decision = decisionUnknownLabel
		}
		if m.Version > 0 {
			mv.Version = "v" + formatInt(m.Version)
		}
		if m.Duration > 0 {
			mv.Duration = formatDuration(m.Duration)
		}
		mv.BestEpoch = dash
		if m.BestEpoch > 0 {
			mv.BestEpoch = formatInt(int64(m.BestEpoch))
		}
		mv.finalTrain, mv.finalVal = math.NaN(), math.NaN()
		if k := len(m.Loss); k > 0 {
			mv.finalTrain, mv.finalVal = m.Loss[k-1].Train, m.Loss[k-1].Validation
		}
		if len(m.Loss) > 0 && !mv.lossPlot {
			mv.LossNote = fmt.Sprintf("Loss curve not drawn (more than %d models). Final training loss %s, validation loss %s.",
				maxLoss, formatFloat(mv.finalTrain), formatFloat(mv.finalVal))
		}
		mv.Metrics = metricRows(m.Champion, m.Challenger)
		for si := range m.Series {
			s := &m.Series[si]
			row := &seriesRow{
				Anchor:      fmt.Sprintf("m%d-s%d", mi+1, si+1),
				ID:          s.ID,
				ModelAnchor: mv.Anchor,
				Model:       mv.Name,
				Readings:    formatInt(int64(s.Readings)),
				Used:        formatInt(int64(s.Used)),
				UsedPct:     dash,
				Range:       formatDays(s.From, s.To),
				ValMAE:      formatFloat(s.ValMAE),
				src:         s,
				order:       len(rows),
				modelIdx:    mi,
			}
			if s.Readings > 0 {
				row.UsedPct = strconv.FormatFloat(100*float64(s.Used)/float64(s.Readings), 'f', 1, 64) + " %"
			}
			excl := 0
			for _, sp := range s.Excluded {
				excl += sp.Readings
				mv.Spans = append(mv.Spans, spanRow{
					Series: s.ID, From: formatTime(sp.From), To: formatTime(sp.To),
					Readings: formatInt(int64(sp.Readings)), Why: sp.Why,
				})
			}
			switch len(s.Excluded) {
			case 0:
				row.Excluded = dash
			default:
				row.Excluded = formatInt(int64(excl)) + " in " + plural(len(s.Excluded), "span", "spans")
			}
			row.data = prepare(s)
			row.hasData = len(s.Times) > 0 && (row.data.actualFinite || row.data.errorFinite)
			row.NoData = !row.hasData
			row.FlaggedN = row.data.nFlagged
			row.Flagged = formatInt(int64(row.data.nFlagged))
			if len(s.Times) == 0 {
				row.Flagged = dash
			}
			row.relErr = relativeError(s.ValMAE, row.data.actual)
			if row.NoData {
				mv.NoData = append(mv.NoData, s.ID)
			}
			totalFlagged += row.data.nFlagged
			totalUsed += s.Used
			rows = append(rows, row)
		}
		pg.Models = append(pg.Models, mv)
	}
	pg.Series = rows

	// Choose the series drawn in detail.
	cand := make([]*seriesRow, 0, len(rows))
	for _, row := range rows {
		if row.hasData {
			cand = append(cand, row)
		}
	}
	sort.SliceStable(cand, func(i, j int) bool {
		a, b := cand[i], cand[j]
		if a.FlaggedN != b.FlaggedN {
			return a.FlaggedN > b.FlaggedN
		}
		if ra, rb := a.relErr, b.relErr; ra != rb && !(math.IsNaN(ra) && math.IsNaN(rb)) {
			if math.IsNaN(rb) {
				return true
			}
			if math.IsNaN(ra) {
				return false
			}
			return ra > rb
		}
		return a.order < b.order
	})
	if len(cand) > maxSeries {
		cand = cand[:maxSeries]
	}
	for _, row := range cand {
		row.Plotted = true
	}
	if nd := len(rows) - countNoData(rows); len(cand) < nd {
		pg.PlotNote = fmt.Sprintf("Figures are drawn for %s of %s series with validation data: "+
			"those with flagged readings first (most flags first), then those with the largest "+
			"validation MAE relative to the spread of their values. The others are in the table only.",
			formatInt(int64(len(cand))), formatInt(int64(nd)))
	}

	// Draw the figures, in parallel; each job fills its own slot.
	var jobs []func() error
	for _, mv := range pg.Models {
		if mv.lossPlot {
			jobs = append(jobs, func() error {
				b, logY, err := lossFigure(mv.src)
				if err != nil {
					return fmt.Errorf("model %q: loss figure: %w", mv.Name, err)
				}
				mv.Loss = newFigure(b, lossWidth, lossHeight, "Training and validation loss per epoch of "+mv.Name)
				mv.LogLoss = logY
				return nil
			})
		}
	}
	for _, row := range rows {
		if row.Plotted {
			jobs = append(jobs, func() error {
				b, err := seriesFigure(&row.data)
				if err != nil {
					return fmt.Errorf("series %q: figure: %w", row.ID, err)
				}
				h := seriesOnly
				if row.data.hasDetector {
					h = seriesHeight
				}
				row.plot = newFigure(b, seriesWidth, h, "Actual and predicted values, smoothed error and threshold of "+row.ID)
				return nil
			})
		}
	}
	if err := runJobs(jobs, workers); err != nil {
		return nil, err
	}

	// Attach details to their models.
	for _, row := range rows {
		mv := pg.Models[row.modelIdx]
		if !row.Plotted {
			if row.hasData {
				mv.NotPlotted++
			}
			continue
		}
		s := row.src
		d := &seriesDetail{
			Anchor:  row.Anchor,
			ID:      s.ID,
			Figure:  row.plot,
			Dropped: row.data.dropped,
			Facts: []KV{
				{"Validation slice", formatRange(s.Times[0], s.Times[len(s.Times)-1])},
				{"Validation readings", formatInt(int64(len(s.Times)))},
				{"Validation MAE", row.ValMAE},
				{"Flagged", row.Flagged},
				{"Used for training", row.Used + " of " + row.Readings},
				{"Data read", formatRange(s.From, s.To)},
			},
		}
		mv.Details = append(mv.Details, d)
	}

	// Summary cards.
	counts := map[string]int{}
	for _, mv := range pg.Models {
		counts[mv.Decision]++
	}
	labels := make([]string, 0, len(counts))
	for l := range counts {
		labels = append(labels, l)
	}
	rank := map[string]int{DecisionPromoted: 0, DecisionForced: 1, DecisionKept: 2, DecisionDryRun: 3, DecisionFailed: 4}
	sort.Slice(labels, func(i, j int) bool {
		ri, oki := rank[strings.ToLower(labels[i])]
		rj, okj := rank[strings.ToLower(labels[j])]
		switch {
		case oki && okj:
			return ri < rj
		case oki != okj:
			return oki
		}
		return labels[i] < labels[j]
	})
	for _, l := range labels {
		pg.Decisions = append(pg.Decisions, decisionCount{Label: l, Class: badge(l), N: counts[l]})
	}
	pg.Cards = []card{
		{"Duration", pg.Duration, "finished " + pg.Finished + " UTC"},
		{"Models", formatInt(int64(len(pg.Models))), decisionSummary(pg.Decisions)},
		{"Series trained", formatInt(int64(len(rows))), plural(len(r.Skipped), "series", "series") + " skipped"},
		{"Readings used", formatInt(int64(totalUsed)), "for training and validation"},
		{"Flagged in validation", formatInt(int64(totalFlagged)), "readings the threshold would have flagged"},
	}
	return pg, nil
}

func decisionSummary(ds []decisionCount) string {
	parts := make([]string, 0, len(ds))
	for _, d := range ds {
		parts = append(parts, fmt.Sprintf("%d %s", d.N, d.Label))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func countNoData(rows []*seriesRow) int {
	n := 0
	for _, r := range rows {
		if !r.hasData {
			n++
		}
	}
	return n
}

// relativeError is mae divided by the population standard deviation of
// the finite actual values; NaN when either is not defined.
func relativeError(mae float64, actual []float64) float64 {
	if !finite(mae) {
		return math.NaN()
	}
	var n, mean, m2 float64
	for _, v := range actual {
		if !finite(v) {
			continue
		}
		n++
		d := v - mean
		mean += d / n
		m2 += d * (v - mean)
	}
	if n < 2 || m2 <= 0 {
		return math.NaN()
	}
	return mae / math.Sqrt(m2/n)
}

func metricRows(champ, chall *Metrics) []metricRow {
	if champ == nil && chall == nil {
		return nil
	}
	get := func(m *Metrics, f func(*Metrics) float64) float64 {
		if m == nil {
			return math.NaN()
		}
		return f(m)
	}
	defs := []struct {
		label string
		f     func(*Metrics) float64
		int   bool
	}{
		{"Validation MAE", func(m *Metrics) float64 { return m.ValMAE }, false},
		{"Validation RMSE", func(m *Metrics) float64 { return m.ValRMSE }, false},
		{"False alarms per day", func(m *Metrics) float64 { return m.FalseAlarmsPerDay }, false},
		{"Flagged readings", func(m *Metrics) float64 { return float64(m.Flagged) }, true},
	}
	rows := make([]metricRow, 0, len(defs))
	for _, d := range defs {
		a, b := get(champ, d.f), get(chall, d.f)
		row := metricRow{Label: d.label, Delta: formatChange(a, b)}
		if d.int {
			row.Champion, row.Challenger = intOrDash(champ, a), intOrDash(chall, b)
		} else {
			row.Champion, row.Challenger = formatFloat(a), formatFloat(b)
		}
		if finite(a) && finite(b) {
			row.ChallengerBetter = b < a
			row.ChampionBetter = a < b
		}
		rows = append(rows, row)
	}
	return rows
}

func intOrDash(m *Metrics, v float64) string {
	if m == nil {
		return dash
	}
	return formatInt(int64(v))
}

// runJobs runs the jobs on up to workers goroutines and returns the error
// of the first failing job in job order, so the error does not depend on
// scheduling.
func runJobs(jobs []func() error, workers int) error {
	errs := make([]error, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = runSafely(jobs[i])
			}
		}()
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	return firstErr(errs)
}

func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// runSafely turns a panic inside the plotting library into an error: a
// report with one bad figure input must not take the trainer down.
func runSafely(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("draw figure: panic: %v", p)
		}
	}()
	return f()
}

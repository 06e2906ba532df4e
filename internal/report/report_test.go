package report

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"html"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/skeleton.golden.html")

// render writes r with o and fails the test on an error.
func render(t testing.TB, o Options, r *Run) string {
	t.Helper()
	var buf bytes.Buffer
	if err := o.Write(&buf, r); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.String()
}

var voidElements = map[string]bool{
	"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true, "img": true,
	"input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true,
}

// checkWellFormed parses the document with encoding/xml in its lenient
// mode (HTML entities, unquoted attributes) and checks that every element
// other than the void ones is closed, in order, and that there is exactly
// one html, head and body.
func checkWellFormed(t *testing.T, doc string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(strings.TrimPrefix(doc, "<!DOCTYPE html>")))
	d.Strict = false
	d.Entity = xml.HTMLEntity
	var stack []string
	count := map[string]int{}
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("parse: %v (open: %v)", err, stack)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			name := strings.ToLower(tok.Name.Local)
			count[name]++
			for _, a := range tok.Attr {
				if strings.HasPrefix(strings.ToLower(a.Name.Local), "on") {
					t.Errorf("<%s> has an event handler attribute %s", name, a.Name.Local)
				}
			}
			if !voidElements[name] {
				stack = append(stack, name)
			}
		case xml.EndElement:
			name := strings.ToLower(tok.Name.Local)
			if voidElements[name] {
				t.Fatalf("end tag of void element %s", name)
			}
			if len(stack) == 0 || stack[len(stack)-1] != name {
				t.Fatalf("</%s> closes %v", name, stack)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) != 0 {
		t.Fatalf("unclosed elements: %v", stack)
	}
	for _, name := range []string{"html", "head", "body", "title", "style", "main"} {
		if count[name] != 1 {
			t.Errorf("%d <%s> elements, want 1", count[name], name)
		}
	}
	for _, name := range []string{"script", "link", "iframe", "object"} {
		if count[name] != 0 {
			t.Errorf("%d <%s> elements, want none", count[name], name)
		}
	}
}

var imgRE = regexp.MustCompile(`<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" width="(\d+)" height="(\d+)"`)

// checkImages decodes every embedded PNG, checks its size against the img
// attributes and that it is not blank, and returns how many there are.
func checkImages(t *testing.T, doc string) int {
	t.Helper()
	if n, m := strings.Count(doc, "<img "), len(imgRE.FindAllString(doc, -1)); n != m {
		t.Fatalf("%d img elements, %d with an embedded PNG", n, m)
	}
	for _, m := range imgRE.FindAllStringSubmatch(doc, -1) {
		b, err := base64.StdEncoding.DecodeString(m[1])
		if err != nil {
			t.Fatalf("base64: %v", err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("png: %v", err)
		}
		w, _ := strconv.Atoi(m[2])
		h, _ := strconv.Atoi(m[3])
		if got := img.Bounds().Size(); got != (image.Point{X: w, Y: h}) {
			t.Errorf("png is %v, img says %dx%d", got, w, h)
		}
		if f := inkFraction(img); f < 0.01 {
			t.Errorf("png %dx%d is nearly blank: %.4f of its pixels are not white", w, h, f)
		}
	}
	return len(imgRE.FindAllString(doc, -1))
}

// inkFraction is the fraction of pixels that are not (nearly) white.
func inkFraction(img image.Image) float64 {
	b := img.Bounds()
	ink := 0
	if rgba, ok := img.(*image.RGBA); ok { // what png.Decode gives for our opaque figures
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := rgba.Pix[rgba.PixOffset(b.Min.X, y):rgba.PixOffset(b.Max.X, y)]
			for i := 0; i < len(row); i += 4 {
				if row[i] < 0xf0 || row[i+1] < 0xf0 || row[i+2] < 0xf0 {
					ink++
				}
			}
		}
		return float64(ink) / float64(b.Dx()*b.Dy())
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				ink++
			}
		}
	}
	return float64(ink) / float64(b.Dx()*b.Dy())
}

func TestWrite(t *testing.T) {
	t.Parallel()
	r := synthRun(2, 2, 400)
	doc := render(t, Options{}, r)
	checkWellFormed(t, doc)
	// 2 loss figures, 4 series figures.
	if n := checkImages(t, doc); n != 6 {
		t.Errorf("%d figures, want 6", n)
	}
	for _, m := range r.Models {
		if !strings.Contains(doc, html.EscapeString(m.Name)) {
			t.Errorf("model %q missing", m.Name)
		}
		for _, s := range m.Series {
			if c := strings.Count(doc, html.EscapeString(s.ID)); c < 3 { // series table, spans table, figure heading
				t.Errorf("series %q appears %d times, want at least 3", s.ID, c)
			}
		}
	}
	for _, want := range []string{
		"Vigil nightly training", "47 min 13 s", "kafka topic sensors", "LSTM 2×64, dropout 0.1",
		`<span class="badge ok">promoted</span>`, `<span class="badge kept">kept champion</span>`,
		"plant-3/boiler/temp-9", "too little data", "dead-lettered", "anomaly episode 3f2a9c",
		"label window", "best epoch", "−16.0 %", // MAE 0.25 → 0.21
	} {
		if !strings.Contains(doc, html.EscapeString(want)) && !strings.Contains(doc, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestWriteEscapes(t *testing.T) {
	t.Parallel()
	const hostile = `<script>alert(1)</script>`
	const attr = `"><img src=x onerror=alert(2)>`
	s := synthSeries(hostile, 300, 1, 0)
	s.Excluded[0].Why = attr
	r := &Run{
		Title:    hostile,
		Source:   attr,
		Settings: []KV{{Key: hostile, Value: attr}},
		Models: []Model{{
			Name: attr, Decision: hostile, Reason: hostile,
			Series: []Series{s, {ID: attr}},
			Loss:   []Epoch{{Train: 1, Validation: 2}, {Train: 0.5, Validation: 1}},
		}},
		Skipped: []Skipped{{ID: hostile, Reason: attr}},
		Notes:   []string{hostile, attr},
	}
	doc := render(t, Options{}, r)
	checkWellFormed(t, doc)
	checkImages(t, doc)
	for _, bad := range []string{"<script", "<img src=x", `"><img`} {
		if strings.Contains(doc, bad) {
			t.Errorf("report contains %q unescaped", bad)
		}
	}
	if !strings.Contains(doc, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("escaped series id missing")
	}
	if !strings.Contains(doc, `<span class="badge other">`) {
		t.Error("unknown decision should get the neutral badge")
	}
}

// TestWriteEdgeCases renders inputs that plots often trip over; none may
// panic or fail.
func TestWriteEdgeCases(t *testing.T) {
	t.Parallel()
	nan := math.NaN()
	long := synthSeries("long", 200_000, 3, 5000)
	allNaN := synthSeries("all-nan", 100, 4, 0)
	for i := range allNaN.Actual {
		allNaN.Actual[i], allNaN.Predicted[i], allNaN.SmoothedError[i], allNaN.Threshold[i] = nan, nan, nan, nan
	}
	alternating := synthSeries("alternating-nan", 400, 5, 0)
	for i := 0; i < len(alternating.Actual); i += 2 {
		alternating.Actual[i] = nan
	}
	mismatch := synthSeries("mismatch", 200, 6, 0)
	mismatch.Predicted = mismatch.Predicted[:150]
	mismatch.Flagged = mismatch.Flagged[:10]
	one := synthSeries("one-reading", 1, 7, 0)
	flat := synthSeries("flat", 200, 8, 0)
	for i := range flat.Actual {
		flat.Actual[i], flat.Predicted[i], flat.SmoothedError[i], flat.Threshold[i] = 5, 5, 0, 0
	}
	noDetector := synthSeries("no-detector", 300, 9, 0)
	noDetector.SmoothedError, noDetector.Threshold, noDetector.Flagged = nil, nil, nil
	inf := synthSeries("infinities", 300, 10, 0)
	inf.Actual[10], inf.Predicted[20], inf.Threshold[30] = math.Inf(1), math.Inf(-1), math.Inf(1)
	allFlagged := synthSeries("all-flagged", 3000, 11, 0)
	for i := range allFlagged.Flagged {
		allFlagged.Flagged[i] = true
	}
	cases := []struct {
		name   string
		model  Model
		images int
		want   []string
	}{
		{"empty model", Model{Name: "empty"}, 0, []string{"No loss curve recorded", "No champion or challenger figures"}},
		{"empty series", Model{Name: "m", Series: []Series{{ID: "nothing", ValMAE: nan}}}, 0, []string{"no validation data"}},
		{"all NaN", Model{Name: "m", Series: []Series{allNaN}}, 0, []string{"no validation data"}},
		{"long with a gap", Model{Name: "m", Series: []Series{long}}, 1, nil},
		{"alternating NaN", Model{Name: "m", Series: []Series{alternating}}, 1, nil},
		{"length mismatch", Model{Name: "m", Series: []Series{mismatch}}, 1, []string{"predicted (150 values for 200 times)", "flagged (10 values for 200 times)"}},
		{"one reading", Model{Name: "m", Series: []Series{one}}, 1, nil},
		{"flat", Model{Name: "m", Series: []Series{flat}}, 1, nil},
		{"no detector", Model{Name: "m", Series: []Series{noDetector}}, 1, nil},
		{"infinities", Model{Name: "m", Series: []Series{inf}}, 1, nil},
		{"all flagged", Model{Name: "m", Series: []Series{allFlagged}}, 1, []string{"3,000"}},
		{"loss without validation", Model{Name: "m", Loss: []Epoch{{1, nan}, {0.5, nan}, {0.3, nan}}, BestEpoch: 3}, 1, nil},
		{"loss over decades", Model{Name: "m", Loss: []Epoch{{100, 120}, {1, 2}, {0.01, 0.03}, {0, -1}}, BestEpoch: 3}, 1, nil},
		{"loss all NaN", Model{Name: "m", Loss: []Epoch{{nan, nan}}, BestEpoch: 7}, 1, nil},
		{"one champion only", Model{Name: "m", Champion: &Metrics{ValMAE: 1, ValRMSE: nan}}, 0, []string{"Validation RMSE"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc := render(t, Options{}, &Run{Models: []Model{tc.model}})
			checkWellFormed(t, doc)
			if n := len(imgRE.FindAllString(doc, -1)); n != tc.images {
				t.Errorf("%d figures, want %d", n, tc.images)
			}
			// Blank-check only figures with data to show.
			if tc.name != "loss all NaN" {
				checkImages(t, doc)
			}
			for _, w := range tc.want {
				if !strings.Contains(doc, w) {
					t.Errorf("report lacks %q", w)
				}
			}
		})
	}
	if err := (Options{}).Write(io.Discard, nil); err == nil {
		t.Error("nil run: no error")
	}
	doc := render(t, Options{}, &Run{})
	checkWellFormed(t, doc)
	for _, w := range []string{"Vigil training run", "No model was trained", "No series was trained"} {
		if !strings.Contains(doc, w) {
			t.Errorf("empty run: report lacks %q", w)
		}
	}
}

// TestPlotSelection checks which series get a figure when there are more
// than MaxSeriesPlots, and that the rest stay in the table.
func TestPlotSelection(t *testing.T) {
	t.Parallel()
	r := synthRun(1, 12, 300)
	ser := r.Models[0].Series
	for i := range ser {
		for j := range ser[i].Flagged {
			ser[i].Flagged[j] = false
		}
		ser[i].ValMAE = 0.1
	}
	// series 7 has the most flags, series 3 some; series 10 the largest error.
	for j := 0; j < 40; j++ {
		ser[7].Flagged[j] = true
	}
	ser[3].Flagged[5] = true
	ser[10].ValMAE = 5
	doc := render(t, Options{MaxSeriesPlots: 3, MaxLossPlots: -1}, r)
	checkWellFormed(t, doc)
	if n := checkImages(t, doc); n != 3 {
		t.Fatalf("%d figures, want 3", n)
	}
	for _, i := range []int{7, 3, 10} {
		if !strings.Contains(doc, fmt.Sprintf(`<div class="series" id="m1-s%d">`, i+1)) {
			t.Errorf("series %d not drawn", i)
		}
	}
	if got := strings.Count(doc, `title="in the table only (see the note above)"`); got != 9 {
		t.Errorf("%d series listed as table only, want 9", got)
	}
	for _, s := range ser {
		if !strings.Contains(doc, html.EscapeString(s.ID)) {
			t.Errorf("series %s missing from the table", s.ID)
		}
	}
	if !strings.Contains(doc, "Figures are drawn for 3 of 12 series") {
		t.Error("the plot limit is not explained")
	}
	if !strings.Contains(doc, "Loss curve not drawn") {
		t.Error("the loss limit is not explained")
	}
	if doc := render(t, Options{MaxSeriesPlots: -1, MaxLossPlots: -1}, r); strings.Contains(doc, "<img") {
		t.Error("negative limits should draw nothing")
	}
}

// TestDeterministic renders the same run twice at the same time, with
// different numbers of workers: the bytes must be equal.
func TestDeterministic(t *testing.T) {
	t.Parallel()
	r := synthRun(1, 3, 300)
	// Both at once, on the same Run: Write only reads it.
	var out [2]bytes.Buffer
	var errs [2]error
	var wg sync.WaitGroup
	for i, workers := range []int{1, 4} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = Options{Workers: workers}.Write(&out[i], r)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatal(err)
	}
	if out[0].Len() == 0 || !bytes.Equal(out[0].Bytes(), out[1].Bytes()) {
		t.Fatal("two renderings of the same run differ")
	}
}

var dataURL = regexp.MustCompile(`data:image/png;base64,[A-Za-z0-9+/=]+`)

// TestGoldenSkeleton compares the HTML, without the image data, with
// testdata/skeleton.golden.html. Refresh it with -update after a
// deliberate change and review the diff.
func TestGoldenSkeleton(t *testing.T) {
	r := synthRun(2, 2, 300)
	r.Models[1].Series[1].Times = nil
	doc := dataURL.ReplaceAllString(render(t, Options{}, r), "data:image/png;base64,…")
	path := filepath.Join("testdata", "skeleton.golden.html")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if doc != string(want) {
		got := filepath.Join(t.TempDir(), "skeleton.html")
		_ = os.WriteFile(got, []byte(doc), 0o644)
		t.Fatalf("HTML skeleton differs from %s; got %s (diff them; -update to accept)", path, got)
	}
}

func TestWriteFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, nil); err == nil {
		t.Fatal("nil run: no error")
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Fatal("a failed write replaced the file")
	}
	r := synthRun(1, 1, 100)
	if err := WriteFile(path, r); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("<!DOCTYPE html>")) {
		t.Fatalf("file starts with %q", b[:min(len(b), 40)])
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("%d files in the directory, want 1 (temporary files left?)", len(entries))
	}
	if err := WriteFile(filepath.Join(dir, "missing", "r.html"), r); err == nil {
		t.Fatal("missing directory: no error")
	}
	errBroken := errors.New("disk full")
	if err := Write(failingWriter{errBroken}, r); !errors.Is(err, errBroken) {
		t.Fatalf("failing writer: got %v, want it wrapped", err)
	}
}

type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }

func TestFormat(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		got, want string
	}{
		{formatFloat(nan), "—"},
		{formatFloat(math.Inf(1)), "—"},
		{formatFloat(0), "0"},
		{formatFloat(0.21), "0.21"},
		{formatFloat(0.123456), "0.1235"},
		{formatFloat(12.3456), "12.35"},
		{formatFloat(-3.5), "-3.5"},
		{formatFloat(123456.7), "123,457"},
		{formatFloat(0.00001234), "1.23e-05"},
		{formatInt(0), "0"},
		{formatInt(999), "999"},
		{formatInt(1000), "1,000"},
		{formatInt(-1234567), "-1,234,567"},
		{formatChange(0.25, 0.21), "−16.0 %"},
		{formatChange(0.5, 0.6), "+20.0 %"},
		{formatChange(0, 1), "—"},
		{formatDuration(400 * time.Millisecond), "0.4 s"},
		{formatDuration(42 * time.Second), "42 s"},
		{formatDuration(3*time.Minute + 5*time.Second), "3 min 05 s"},
		{formatDuration(2*time.Hour + 7*time.Minute), "2 h 07 min"},
		{formatTime(time.Time{}), "—"},
		{formatTime(time.Date(2026, 11, 27, 3, 4, 0, 0, time.FixedZone("X", 3600))), "2026-11-27 02:04"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

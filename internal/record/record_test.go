package record

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestReadingValidate(t *testing.T) {
	ok := Reading{SeriesID: "s", Time: time.Unix(1, 0), Value: 1}
	tests := []struct {
		name string
		mut  func(*Reading)
		want error
	}{
		{"valid", func(*Reading) {}, nil},
		{"empty series", func(r *Reading) { r.SeriesID = "" }, ErrEmptySeriesID},
		{"nan value", func(r *Reading) { r.Value = math.NaN() }, ErrNonFinite},
		{"inf value", func(r *Reading) { r.Value = math.Inf(-1) }, ErrNonFinite},
		{"inf field", func(r *Reading) { r.Fields = map[string]float64{"a": 1, "b": math.Inf(1)} }, ErrNonFinite},
		{"bad quality", func(r *Reading) { r.Quality = 9 }, ErrInvalidEnum},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ok
			tc.mut(&r)
			err := r.Validate()
			if tc.want == nil && err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Validate() = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestEnumsRoundTrip(t *testing.T) {
	for q := QualityGood; q <= QualityBad; q++ {
		if got, ok := ParseQuality(q.String()); !ok || got != q {
			t.Errorf("ParseQuality(%q) = %v, %v", q.String(), got, ok)
		}
	}
	for k := EventOpened; k <= EventClosed; k++ {
		if got, ok := ParseEventKind(k.String()); !ok || got != k {
			t.Errorf("ParseEventKind(%q) = %v, %v", k.String(), got, ok)
		}
	}
	for d := DirectionAbove; d <= DirectionBelow; d++ {
		if got, ok := ParseDirection(d.String()); !ok || got != d {
			t.Errorf("ParseDirection(%q) = %v, %v", d.String(), got, ok)
		}
	}
	if _, ok := ParseQuality("SHINY"); ok {
		t.Error("ParseQuality accepted an unknown symbol")
	}
	if Quality(7).String() != "Quality(7)" {
		t.Errorf("Quality(7).String() = %q", Quality(7).String())
	}
}

func TestEventIDDeterministic(t *testing.T) {
	m := Model{Name: "lstm", Version: "v3"}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	ep := EpisodeID("s1", at, m)
	a := EventID("s1", ep, EventOpened, at, m)
	if b := EventID("s1", ep, EventOpened, at.In(time.FixedZone("x", 3600)), m); a != b {
		t.Fatalf("same input gave %s and %s", a, b)
	}
	if len(a) != 32 || len(ep) != 32 {
		t.Fatalf("ids %q %q, want 32 hex chars", a, ep)
	}
	// Pin the derivation: changing it breaks downstream de-duplication.
	if want := "508a0a6026b53be60c0f3e4277be4808"; a != want {
		t.Fatalf("EventID = %s, want %s", a, want)
	}
	for name, other := range map[string]string{
		"kind":     EventID("s1", ep, EventUpdated, at, m),
		"series":   EventID("s2", ep, EventOpened, at, m),
		"time":     EventID("s1", ep, EventOpened, at.Add(time.Microsecond), m),
		"model":    EventID("s1", ep, EventOpened, at, Model{Name: "lstm", Version: "v4"}),
		"episode":  EventID("s1", "other", EventOpened, at, m),
		"boundary": EventID("s1"+ep[:1], ep[1:], EventOpened, at, m),
	} {
		if other == a {
			t.Errorf("changing %s did not change the id", name)
		}
	}
	if ep == a {
		t.Error("episode id equals event id")
	}
}

func TestEventAndScoreValidate(t *testing.T) {
	e := Event{SeriesID: "s", Score: 0.5, Episode: Episode{PeakScore: 0.5}}
	if err := e.Validate(); err != nil {
		t.Fatalf("valid event: %v", err)
	}
	e.Score = 1.5
	if err := e.Validate(); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("score 1.5: %v", err)
	}
	e.Score, e.Threshold = 0.5, math.NaN()
	if err := e.Validate(); !errors.Is(err, ErrNonFinite) {
		t.Fatalf("nan threshold: %v", err)
	}
	e.Threshold, e.Kind = 0, 5
	if err := e.Validate(); !errors.Is(err, ErrInvalidEnum) {
		t.Fatalf("bad kind: %v", err)
	}
	s := Score{SeriesID: "s", Score: 0.1}
	if err := s.Validate(); err != nil {
		t.Fatalf("valid score: %v", err)
	}
	s.SeriesID = ""
	if err := s.Validate(); !errors.Is(err, ErrEmptySeriesID) {
		t.Fatalf("empty series: %v", err)
	}
}

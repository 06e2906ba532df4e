package detect_test

import (
	"testing"

	"github.com/vigil-stream/vigil/internal/detect"
	"github.com/vigil-stream/vigil/internal/dynthreshold"
	"github.com/vigil-stream/vigil/internal/model"
)

func TestThresholdConfig(t *testing.T) {
	base := dynthreshold.DefaultConfig()
	base.WarmUp = 140 // a consumer setting the model does not touch
	tests := []struct {
		name    string
		rule    model.ThresholdRule
		check   func(dynthreshold.Config) bool
		wantErr bool
	}{
		{name: "zero rule keeps the base", check: func(c dynthreshold.Config) bool { return c == base }},
		{name: "percentile rule", rule: model.ThresholdRule{Rule: "percentile", Params: map[string]string{"percentile": "99.5"}},
			check: func(c dynthreshold.Config) bool {
				return c.Rule == dynthreshold.RulePercentile && c.Percentile == 99.5 && c.WarmUp == 140
			}},
		{name: "episode settings", rule: model.ThresholdRule{Params: map[string]string{"episode.quiet": "12", "episode.cooldown-for": "1h"}},
			check: func(c dynthreshold.Config) bool { return c.Episode.Quiet == 12 && c.Episode.CooldownFor.Hours() == 1 }},
		{name: "unknown rule", rule: model.ThresholdRule{Rule: "magic"}, wantErr: true},
		{name: "unknown parameter", rule: model.ThresholdRule{Params: map[string]string{"sparkle": "1"}}, wantErr: true},
		{name: "bad value", rule: model.ThresholdRule{Params: map[string]string{"sigma": "lots"}}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := detect.ThresholdConfig(base, tc.rule)
			if tc.wantErr {
				if err == nil {
					t.Fatal("want an error")
				}
				if got != base {
					t.Fatal("a failed override must return the base")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(got) {
				t.Fatalf("unexpected config %+v", got)
			}
		})
	}
}

func TestRouter(t *testing.T) {
	models := map[string]*model.Model{"pumps": {Name: "pumps"}, "north": {Name: "north"}, "default": {Name: "default"}, "special": {Name: "special"}}
	routes, err := detect.ParseRoutes("series:plant-1/pump-9=>special; glob:plant-*/pump-*=>pumps; tag:site=north&kind=fan=>north")
	if err != nil {
		t.Fatal(err)
	}
	r, err := detect.NewRouter(detect.Routing{Default: "default", Routes: routes}, func() map[string]*model.Model { return models })
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		series string
		tags   map[string]string
		want   string
	}{
		{"plant-1/pump-9", nil, "special"},
		{"plant-2/pump-1", nil, "pumps"},
		{"plant-2/fan-1", map[string]string{"site": "north", "kind": "fan"}, "north"},
		{"plant-2/fan-1", map[string]string{"site": "north"}, "default"},
		{"other", nil, "default"},
	}
	for _, tc := range tests {
		if got := r.Model(tc.series, tc.tags); got == nil || got.Name != tc.want {
			t.Errorf("%s %v: %v, want %s", tc.series, tc.tags, got, tc.want)
		}
	}
	for _, bad := range []string{"plant=>x", "glob:[=>x", "tag:novalue=>x", "series:a"} {
		routes, err := detect.ParseRoutes(bad)
		if err == nil {
			err = (&detect.Routing{Routes: routes}).Validate()
		}
		if err == nil {
			t.Errorf("routes %q: want an error", bad)
		}
	}
}

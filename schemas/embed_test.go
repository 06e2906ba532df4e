package schemas

import (
	"encoding/json"
	"testing"
)

func TestSchemasAreVersionedRecords(t *testing.T) {
	for _, tc := range []struct {
		name, text, full string
	}{
		{"reading", Reading, ReadingName},
		{"anomaly_event", AnomalyEvent, AnomalyEventName},
		{"score", Score, ScoreName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s struct {
				Type      string          `json:"type"`
				Name      string          `json:"name"`
				Namespace string          `json:"namespace"`
				Version   json.RawMessage `json:"vigil.schema.version"`
			}
			if err := json.Unmarshal([]byte(tc.text), &s); err != nil {
				t.Fatalf("parse: %v", err)
			}
			if s.Type != "record" {
				t.Errorf("type = %q, want record", s.Type)
			}
			if got := s.Namespace + "." + s.Name; got != tc.full {
				t.Errorf("full name = %q, want %q", got, tc.full)
			}
			var v int
			if err := json.Unmarshal(s.Version, &v); err != nil || v < 1 {
				t.Errorf("%s = %s, want a positive integer", VersionProperty, s.Version)
			}
		})
	}
}

package trainer

import (
	"encoding/json"
	"fmt"
	"html"
	"os"
	"path/filepath"
)

// WriteReport writes the run's report as HTML.
func WriteReport(path string, cfg *Config, sum *Summary) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return err
	}
	page := fmt.Sprintf("<!doctype html><meta charset=utf-8><title>Vigil training</title><pre>%s</pre>", html.EscapeString(string(b)))
	return os.WriteFile(path, []byte(page), 0o644)
}

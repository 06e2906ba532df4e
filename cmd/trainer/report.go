package main

import (
	"github.com/vigil-stream/vigil/internal/trainer"
)

// writeReport renders the run's HTML report.
func writeReport(path string, cfg *trainer.Config, sum *trainer.Summary) error {
	return trainer.WriteReport(path, cfg, sum)
}

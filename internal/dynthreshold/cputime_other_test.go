//go:build !linux

package dynthreshold

import "time"

func threadCPU() (time.Duration, bool) { return 0, false }

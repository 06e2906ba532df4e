//go:build unix

package model

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time this process has used (user + system). On a
// shared machine it is a steadier measure than wall time: it does not count
// the time other processes hold the core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

package dynthreshold

import (
	"syscall"
	"time"
)

// threadCPU returns the CPU time (user + system) of the calling OS thread,
// so that benchmarks can report cost independent of other load on the
// machine. The caller locks the goroutine to its thread.
func threadCPU() (time.Duration, bool) {
	const rusageThread = 1 // RUSAGE_THREAD, linux/include/uapi/linux/resource.h
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

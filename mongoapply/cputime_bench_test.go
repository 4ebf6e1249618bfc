//go:build unix

package mongoapply

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time the process has used so far. Unlike wall
// time it does not grow while other processes hold the machine's cores.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

//go:build !unix

package bots

import "time"

// processCPU is 0 where there is no getrusage: the report leaves the bots'
// CPU figures out.
func processCPU() time.Duration { return 0 }

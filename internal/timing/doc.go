// Package timing counts durations in fixed buckets, lock-free, for the
// rooms' tick times and the lobby's match waits.
package timing

// Throwaway: runs cmd/tickwire's runFloor until main.go registers it. Delete.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

func main() {
	if len(os.Args) < 2 || os.Args[1] != "floor" {
		fmt.Fprintln(os.Stderr, "usage: cmd_tmp floor [flags]")
		os.Exit(2)
	}
	err := runFloor(os.Args[2:], os.Stdout, os.Stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.As(err, new(usageError)):
		fmt.Fprintln(os.Stderr, "tickwire floor:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "tickwire floor:", err)
		os.Exit(1)
	}
}

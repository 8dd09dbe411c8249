// Command tickwire is the Tickwire game server and its bot runner.
//
//	tickwire serve   run rooms (and, later, the lobby) on one listener
//	tickwire bots    play bot matches against a server and report what they saw
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// exitUsage is the exit status for bad flags or arguments.
const exitUsage = 2

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, topUsage)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(args[1:], stderr)
	case "bots":
		err = runBots(args[1:], stdout, stderr)
	case "healthcheck":
		err = healthcheck(args[1:], stderr)
	case "floor":
		err = runFloor(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, topUsage)
		return 0
	default:
		fmt.Fprintf(stderr, "tickwire: unknown command %q\n\n%s\n", args[0], topUsage)
		return exitUsage
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "tickwire %s: %v\n", args[0], err)
		return exitUsage
	}
	fmt.Fprintf(stderr, "tickwire %s: %v\n", args[0], err)
	return 1
}

// usageError marks an error in the command line or configuration.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

const topUsage = `usage: tickwire <command> [flags]

commands:
  serve   run the game server (rooms on a fixed tick, WebSocket on /ws)
  bots    play bot matches against a server and report what they saw
  floor   measure the loopback write floor: plain TCP writes of one frame
          to N connections at the tick rate, sender CPU per write
  healthcheck  exit 0 if a server's /healthz answers 200 (for containers)

Run 'tickwire <command> --help' for a command's flags.`

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/tickwire/tickwire/internal/floor"
)

// runFloor measures the loopback write floor (package floor): the sender's CPU
// per plain TCP write of a frame to many loopback connections. It re-executes
// this program as "tickwire floor" with floor.ReaderEnv set to run the readers;
// seeing that variable, it is the reader process instead.
func runFloor(args []string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if spec, ok := os.LookupEnv(floor.ReaderEnv); ok {
		return floor.ReaderMain(ctx, spec)
	}

	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg     floor.Config
		jsonOut bool
	)
	fs.IntVar(&cfg.Conns, "conns", floor.DefaultConns, "loopback connections to write to")
	fs.IntVar(&cfg.Size, "size", floor.DefaultSize, "bytes written to each connection per tick")
	fs.Float64Var(&cfg.Rate, "rate", floor.DefaultRate, "ticks per second")
	fs.DurationVar(&cfg.Duration, "duration", floor.DefaultDuration, "measured window, after the connections are up")
	fs.IntVar(&cfg.Workers, "workers", 0, "goroutines sharing a tick's writes; 0 means GOMAXPROCS")
	fs.BoolVar(&jsonOut, "json", false, "print one JSON object instead of the summary")
	fs.Usage = usageWithEnv(fs, "tickwire floor [flags]")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if cfg.Conns < 1 || cfg.Size < 1 || !(cfg.Rate > 0) || cfg.Duration <= 0 || cfg.Workers < 0 {
		return usageError{fmt.Errorf("--conns (%d), --size (%d), --rate (%v) and --duration (%v) must be positive, --workers (%d) not negative",
			cfg.Conns, cfg.Size, cfg.Rate, cfg.Duration, cfg.Workers)}
	}
	cfg.Readers = &floor.Process{Args: []string{"floor"}, Output: stderr}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}

	res, err := floor.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else if err := res.Print(stdout); err != nil {
		return err
	}
	return res.Failed()
}

// Keeps staticcheck's unused check quiet until main.go dispatches "floor" to
// runFloor; delete it then.

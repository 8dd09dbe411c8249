package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/tickwire/tickwire/bots"
	"github.com/tickwire/tickwire/netcode"
)

type botsConfig struct {
	url       string
	rooms     int
	players   int
	duration  time.Duration
	behaviour string
	prefix    string
	inputRate float64
	seed      uint64
	jsonOut   bool
	deflate   bool
	logLevel  string
}

func botsFlags(fs *flag.FlagSet, c *botsConfig) {
	fs.StringVar(&c.url, "url", "", "server base address, e.g. ws://127.0.0.1:7350; empty starts a server in this process")
	fs.IntVar(&c.rooms, "rooms", 4, "rooms to fill")
	fs.IntVar(&c.players, "players", 8, "bots per room")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long the bots play once joined (a match ending stops them sooner)")
	fs.StringVar(&c.behaviour, "behaviour", "random", "bot behaviour: random, chase or idle")
	fs.StringVar(&c.prefix, "room-prefix", "", "room ids are <prefix>-0..; default a fresh prefix per run")
	fs.Float64Var(&c.inputRate, "input-rate", 10, "inputs per second per bot")
	fs.Uint64Var(&c.seed, "seed", 1, "seed for the bots' random choices")
	fs.BoolVar(&c.jsonOut, "json", false, "print one JSON object instead of the summary")
	fs.BoolVar(&c.deflate, "deflate", true, "offer permessage-deflate")
	fs.StringVar(&c.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
}

func runBots(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bots", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c botsConfig
	botsFlags(fs, &c)
	fs.Usage = usageWithEnv(fs, "tickwire bots [flags]")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if c.rooms < 1 || c.players < 1 || c.duration <= 0 {
		return usageError{fmt.Errorf("--rooms (%d) and --players (%d) must be at least 1 and --duration (%v) positive", c.rooms, c.players, c.duration)}
	}
	log, err := newLogger(c.logLevel, "console", stderr)
	if err != nil {
		return usageError{err}
	}
	if c.prefix == "" {
		c.prefix = fmt.Sprintf("bots-%d", time.Now().UnixNano()%1e9)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if c.url == "" {
		url, shutdown, err := localServer(log.With().Str("component", "server").Logger().Level(log.GetLevel()))
		if err != nil {
			return err
		}
		defer shutdown()
		c.url = url
	}
	runner, err := bots.NewRunner(bots.RunConfig{
		URL: c.url, Rooms: c.rooms, Players: c.players, Duration: c.duration,
		Behaviour: c.behaviour, RoomPrefix: c.prefix, InputRate: c.inputRate, Seed: c.seed,
		DisableCompression: !c.deflate, Logger: log,
	})
	if err != nil {
		return usageError{err}
	}
	rep, err := runner.Run(ctx)
	if err != nil {
		return err
	}
	if c.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := rep.Print(stdout); err != nil {
		return err
	}
	return rep.Failed()
}

// localServer starts a server with open rooms on a loopback port, for bot runs
// without --url.
func localServer(log zerolog.Logger) (string, func(), error) {
	n, err := newNode(netcode.Config{OpenRooms: true, Logger: log})
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen on loopback: %w", err)
	}
	go func() { _ = n.http.Serve(ln) }()
	return "ws://" + ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = n.shutdown(ctx)
	}, nil
}

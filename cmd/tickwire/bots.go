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
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/term"

	"github.com/tickwire/tickwire/bots"
	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/netcode"
)

type botsConfig struct {
	url       string
	rooms     int
	players   int
	duration  time.Duration
	game      string
	behaviour string
	prefix    string
	inputRate float64
	seed      uint64
	jsonOut   bool
	deflate   bool
	logLevel  string
	mode      string
	viaLobby  bool
	noLobby   bool
	matchDur  time.Duration
	rampUp    time.Duration
	joinConc  int
	report    string
	statsURL  string
	cpuProf   string
	auth      bots.TokenConfig
	secret    string
}

func botsFlags(fs *flag.FlagSet, c *botsConfig) {
	fs.StringVar(&c.url, "url", "", "server base address, e.g. ws://127.0.0.1:7350; empty starts a server in this process")
	fs.IntVar(&c.rooms, "rooms", 4, "rooms to fill")
	fs.IntVar(&c.players, "players", 8, "bots per room")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long the bots play once joined (a match ending stops them sooner)")
	fs.StringVar(&c.game, "game", "arena", "game the bots play: "+strings.Join(bots.GameNames(), ", ")+"; without --url the in-process server hosts it")
	fs.StringVar(&c.behaviour, "behaviour", "", "bot behaviour of the game; default its first: arena random, chase or idle; tanks hunt or idle; connect4 play or idle")
	fs.StringVar(&c.prefix, "room-prefix", "", "room ids are <prefix>-0..; default a fresh prefix per run")
	fs.Float64Var(&c.inputRate, "input-rate", 10, "inputs per second per bot")
	fs.Uint64Var(&c.seed, "seed", 1, "seed for the bots' random choices")
	fs.BoolVar(&c.jsonOut, "json", false, "print one JSON object instead of the summary")
	fs.BoolVar(&c.deflate, "deflate", true, "offer permessage-deflate")
	fs.StringVar(&c.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	fs.StringVar(&c.mode, "mode", "", "game mode to play, as the lobby names it; default the game's name")
	fs.BoolVar(&c.viaLobby, "via-lobby", false, "queue every bot through matchmaking, play each match to its end and check the leaderboard")
	fs.BoolVar(&c.noLobby, "no-lobby", false, "skip the lobby: join open rooms <room-prefix>-N directly (the server needs --open-rooms)")
	fs.DurationVar(&c.rampUp, "ramp-up", 0, "spread the joins evenly over this time; the measured window starts after it")
	fs.IntVar(&c.joinConc, "join-concurrency", 256, "joins in flight at most; real clients do not wait for each other, so keep it above the ramp-up's joins per second times a join's time")
	fs.StringVar(&c.cpuProf, "cpuprofile", "", "write the bots' own CPU profile to this file")
	fs.StringVar(&c.report, "report", "", "also write a self-contained HTML report with plots to this file")
	fs.StringVar(&c.statsURL, "stats-url", "", "the server's /v1/stats, for its CPU, memory and tick figures; default derived from --url")
	fs.DurationVar(&c.matchDur, "match-duration", 0, "match length of the mode on the in-process server (without --url); 0 means no limit")
	fs.StringVar(&c.secret, "auth-hs256-secret", "", "for a lobby that verifies players: the HS256 secret it verifies with; each bot then calls the lobby with a JWT for itself, as its game's auth service would issue")
	fs.StringVar(&c.auth.Issuer, "auth-issuer", "", "with --auth-hs256-secret: the iss of the bots' tokens")
	fs.StringVar(&c.auth.Audience, "auth-audience", "", "with --auth-hs256-secret: the aud of the bots' tokens")
	configFlag(fs)
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
	if c.viaLobby && c.noLobby {
		return usageError{errors.New("--via-lobby and --no-lobby exclude each other")}
	}
	if c.secret != "" && c.noLobby {
		return usageError{errors.New("--auth-hs256-secret is for the lobby's calls; with --no-lobby there are none")}
	}
	if c.joinConc < 1 {
		return usageError{fmt.Errorf("--join-concurrency (%d) must be at least 1", c.joinConc)}
	}
	if _, err := bots.BehaviourFor(c.game, c.behaviour, 0); err != nil {
		return usageError{fmt.Errorf("--game %s --behaviour %q: %w", c.game, c.behaviour, err)}
	}
	if c.mode == "" {
		c.mode = c.game
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
		modes := fmt.Sprintf("%s:%d:%s:%s", c.mode, c.players, c.matchDur, c.game)
		open := game.Rules{Mode: c.mode, MaxPlayers: c.players, MinPlayers: c.players}
		url, shutdown, err := localServer(ctx, modes, open, log.With().Str("component", "server").Logger().Level(log.GetLevel()))
		if err != nil {
			return err
		}
		defer shutdown()
		c.url = url
	}
	rc := bots.RunConfig{
		URL: c.url, Rooms: c.rooms, Players: c.players, Duration: c.duration,
		Game: c.game, Behaviour: c.behaviour, RoomPrefix: c.prefix, InputRate: c.inputRate, Seed: c.seed,
		DisableCompression: !c.deflate, Logger: log,
		RampUp: c.rampUp, StatsURL: c.statsURL, JoinConcurrency: c.joinConc,
	}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		rc.Progress = stderr
	}
	var lob *bots.Lobby
	if !c.noLobby {
		if lob, err = bots.NewLobby(c.url); err != nil {
			return usageError{err}
		}
		if c.secret != "" {
			c.auth.Secret = []byte(c.secret)
			tokens, err := bots.HS256Tokens(c.auth)
			if err != nil {
				return usageError{fmt.Errorf("--auth-hs256-secret: %w", err)}
			}
			lob.SetTokens(tokens)
		}
		if c.viaLobby {
			rc.Seat = bots.MatchmakingSeats(lob, c.mode, c.prefix, c.players)
		} else {
			rc.Seat = bots.RoomSeats(lob, c.mode, c.prefix)
		}
	}
	runner, err := bots.NewRunner(rc)
	if err != nil {
		return usageError{err}
	}
	if c.cpuProf != "" {
		f, err := os.Create(c.cpuProf)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := runner.Run(ctx)
	if err != nil {
		return err
	}
	if c.viaLobby {
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		rep.LeaderboardChecked, rep.LeaderboardMismatches = bots.CheckLeaderboard(cctx, lob, c.mode, runner.Clients())
		cancel()
	}
	if c.report != "" {
		if err := writeHTMLReport(c.report, rep); err != nil {
			return err
		}
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
// Its open rooms (--no-lobby) play by open's rules, the mode's game.
func localServer(ctx context.Context, modes string, open game.Rules, log zerolog.Logger) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen on loopback: %w", err)
	}
	dir, err := os.MkdirTemp("", "tickwire-bots-")
	if err != nil {
		return "", nil, err
	}
	lc := lobbyConfig{store: "embedded", dataDir: dir, modes: modes, ticketTTL: time.Minute, matchInterval: 200 * time.Millisecond}
	n, err := newNode(ctx, ln.Addr().String(), netcode.Config{OpenRooms: true, Rules: open, Logger: log}, &lc, log)
	if err != nil {
		_ = ln.Close()
		return "", nil, err
	}
	go func() { _ = n.http.Serve(ln) }()
	return "ws://" + ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = n.shutdown(ctx)
		_ = os.RemoveAll(dir)
	}, nil
}

func writeHTMLReport(path string, rep bots.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := rep.WriteHTML(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("report %s: %w", path, err)
	}
	return f.Close()
}

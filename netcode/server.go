package netcode

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/google/uuid"
	"github.com/lxzan/gws"
	"github.com/rs/zerolog"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/internal/clock"
)

// Server accepts game clients and runs their rooms. It is an http.Handler for
// Path. Create it with NewServer; stop it with Shutdown.
//
// It is the node's parts wired together: the transport (ServeHTTP and the
// gws events, conn.go), the open connections (conns), the rooms (registry),
// the join handshake and its admission policy (handshake.go, admission.go),
// the janitor and the counters (stats.go).
type Server struct {
	env       *env
	cfg       *Config // env.cfg
	log       zerolog.Logger
	upgraders upgraders // gws's, with and without permessage-deflate (upgrade.go)

	rooms     *registry
	conns     *connSet
	admission admission
	origins   originPolicy

	stats    *counters // env.stats
	stopOnce sync.Once
	stop     chan struct{} // closed by Shutdown; ends the janitor
}

// env is what sessions and hubs need of the server that made them: the
// configuration (defaults applied; read-only), the counters and the logger.
type env struct {
	cfg   *Config
	stats *counters
	log   zerolog.Logger
	clock clock.Clock // cfg.Clock
}

// NewServer builds a server; it validates cfg.
func NewServer(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("netcode config: %w", err)
	}
	if cfg.NewGame == nil {
		return nil, errors.New("netcode config: NewGame is required: it makes each room's game")
	}
	cfg = cfg.withDefaults()
	origins, _ := parseOrigins(cfg.AllowedOrigins) // checked by Validate
	e := &env{cfg: &cfg, stats: new(counters), log: cfg.Logger, clock: cfg.Clock}
	s := &Server{
		env:     e,
		cfg:     e.cfg,
		log:     e.log,
		stats:   e.stats,
		rooms:   newRegistry(e),
		conns:   newConnSet(cfg.MaxConnsPerIP),
		origins: origins,
		stop:    make(chan struct{}),
	}
	s.admission = newAdmission(e.cfg, s.rooms)
	s.upgraders = newUpgraders(&events{s}, gws.ServerOption{
		// The guard refuses messages past this hard cap first (1009);
		// ReadLimit is checked per message so the client hears why.
		ReadMaxPayloadSize: hardReadLimit(cfg.ReadLimit),
		ReadBufferSize:     readBufferSize,
		HandshakeTimeout:   cfg.HandshakeTimeout,
		Logger:             gwsLogger{cfg.Logger},
		NewSession:         newSessionSlot,
	}, cfg.DeflateLevel)
	go s.janitor()
	return s, nil
}

// Shutdown stops taking rooms and connections, ends every match (clients get
// the final scores and a "going away" close) and waits for the rooms to stop
// and the clients to answer the close, or ctx to end. To let running matches
// finish first, call Drain and WaitRooms before it.
func (s *Server) Shutdown(ctx context.Context) error {
	hubs := s.rooms.close()
	for _, h := range hubs {
		h.room.Stop(game.EndShutdown)
	}
	var err error
	for _, h := range hubs {
		select {
		case <-h.room.Done():
		case <-ctx.Done():
			err = fmt.Errorf("shutdown: %w", ctx.Err())
		}
		if err != nil {
			break
		}
	}
	s.stopOnce.Do(func() { close(s.stop) })
	for _, sess := range s.conns.list() {
		sess.close(closeGoingAway, "server going away")
	}
	s.waitSessions(ctx)
	return err
}

func newID() string { return uuid.NewString() }

func randomSeed() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

// gwsLogger sends gws's own messages to zerolog.
type gwsLogger struct{ l zerolog.Logger }

func (g gwsLogger) Error(v ...any) { g.l.Error().Str("component", "gws").Msg(fmt.Sprint(v...)) }

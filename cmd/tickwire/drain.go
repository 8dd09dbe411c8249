package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/rs/zerolog"
)

// Stopping a node on SIGTERM: drain, then shut down. The shutdown timeout is
// the whole budget (what Kubernetes' terminationGracePeriodSeconds must
// cover); matches may play on for all of it but a reserve kept for ending the
// rest and flushing the stores.

// drainReserve is the part of the shutdown timeout kept for the final phase.
func drainReserve(timeout time.Duration) time.Duration { return min(5*time.Second, timeout/4) }

// stop drains the node for up to timeout less the reserve (or until a signal
// arrives on interrupt), then shuts it down in what is left.
func (n *node) stop(timeout time.Duration, interrupt <-chan os.Signal, log zerolog.Logger) error {
	deadline := time.Now().Add(timeout)
	// The demo room is no one's match: it ends now rather than hold the
	// drain up, and its bots, stopped first, do not try to come back.
	n.stopDemo()
	n.drain(timeout-drainReserve(timeout), interrupt, log)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	log.Info().Int("rooms", len(n.game.Rooms())).Msg("shutting down: ending the remaining matches")
	return n.shutdown(ctx)
}

// drain stops the node taking players (readiness fails, the lobby places
// nothing more here, joins other than rejoins are refused) and waits up to
// timeout for its running matches to end on their own.
func (n *node) drain(timeout time.Duration, interrupt <-chan os.Signal, log zerolog.Logger) {
	n.game.Drain()
	n.lobby.SetDraining(true)
	log.Info().Dur("timeout", timeout).Int("rooms", len(n.game.Rooms())).Msg("draining: running matches may finish")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	go func() {
		select {
		case <-interrupt:
			log.Warn().Msg("second signal: ending the drain now")
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := n.game.WaitRooms(ctx); err != nil {
		log.Info().Err(err).Msg("drain over with matches still running")
		return
	}
	log.Info().Msg("drain over: every match has ended")
}

// ready reports why the node cannot take players now, or nil.
func (n *node) ready(ctx context.Context) error {
	if n.game.Draining() || n.lobby.Draining() {
		return errors.New("draining")
	}
	if n.game.Full() {
		st := n.game.Stats()
		return fmt.Errorf("full: %d of %d rooms", st.Rooms, st.MaxRooms)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := n.stores.ping(ctx); err != nil {
		return fmt.Errorf("store unreachable: %w", err)
	}
	return nil
}

// serveReady is GET /readyz: 200 "ok" when the node can take players, 503 and
// the reason otherwise (draining, full, store unreachable).
func (n *node) serveReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := n.ready(r.Context()); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, err.Error()+"\n")
		return
	}
	_, _ = io.WriteString(w, "ok\n")
}

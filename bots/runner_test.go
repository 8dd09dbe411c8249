package bots

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tickwire/tickwire/proto/tickwirev1"
)

func runBots(t *testing.T, cfg RunConfig) (*Runner, Report) {
	t.Helper()
	r, err := NewRunner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return r, rep
}

// Bots play a whole match: every mirror ends equal to the server's final
// state, every bot has the final scores and the server's close 1000.
func TestRunMatchToTheEnd(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{tickRate: 50, matchTicks: 75})
	r, rep := runBots(t, RunConfig{URL: srv.url, Rooms: 2, Players: 3, Duration: 20 * time.Second,
		Behaviour: "chase", InputRate: 20, Seed: 1, RoomPrefix: "match"})

	if err := rep.Failed(); err != nil {
		t.Fatalf("report: %v", err)
	}
	if rep.ClientsJoined != 6 || rep.MatchesEnded != 2 || rep.CloseCodes[1000] != 6 {
		t.Errorf("joined %d, matches ended %d, close codes %v; want 6, 2, {1000: 6}",
			rep.ClientsJoined, rep.MatchesEnded, rep.CloseCodes)
	}
	if rep.UpdatesReceived == 0 || rep.UpdatesExpected == 0 || rep.InputsSent == 0 || rep.BytesPerClientPerS == 0 {
		t.Errorf("report has empty figures: %+v", rep)
	}
	clients := r.Clients()
	if len(clients) != 6 {
		t.Fatalf("%d clients, want 6", len(clients))
	}
	for i, c := range clients {
		room := srv.room(c.Session().RoomID)
		if want := []string{"match-0", "match-1"}[i/3]; room == nil || room.id != want {
			t.Fatalf("client %d in room %v, want %s", i, c.Session().RoomID, want)
		}
		server := room.state(t)
		got, s := c.State(), c.Stats()
		if got.Tick != server.Tick || got.Phase != tickwirev1.MatchPhase_MATCH_PHASE_ENDED ||
			!reflect.DeepEqual(got.Entities, server.Entities) || !reflect.DeepEqual(got.Players, server.Players) {
			t.Errorf("client %d mirror differs from the server:\n got %+v\nwant %+v", i, got, server)
		}
		if s.MatchEnd == nil || !s.MatchEnd.Verified || len(s.MatchEnd.Scores) != 3 {
			t.Fatalf("client %d match end %+v, want 3 verified scores", i, s.MatchEnd)
		}
		for k, fs := range s.MatchEnd.Scores {
			want := room.final.Scores[k]
			if fs.PlayerID != want.PlayerId || fs.Score != want.Score || fs.Rank != want.Rank {
				t.Errorf("client %d score %d = %+v, want %v", i, k, fs, want)
			}
		}
		if s.CloseCode != 1000 || s.Desyncs != 0 || s.LastAckedSeq == 0 || s.LastAckedSeq > s.LastSentSeq {
			t.Errorf("client %d: close %d desyncs %d acked %d of %d", i, s.CloseCode, s.Desyncs, s.LastAckedSeq, s.LastSentSeq)
		}
		if s.WireBytes == 0 || s.PayloadBytes == 0 || s.Latency.Count() == 0 {
			t.Errorf("client %d recorded no traffic: %+v", i, s)
		}
	}
}

// A corrupted delta is detected, resynced, and the bots keep playing until
// the run's time is up, then leave.
func TestRunResyncsAndLeaves(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{tickRate: 50, corruptAt: 20})
	r, rep := runBots(t, RunConfig{URL: srv.url, Rooms: 2, Players: 2, Duration: time.Second,
		Behaviour: "random", Seed: 2})

	if rep.ClientsJoined != 4 || rep.Desyncs != 2 || rep.Resyncs < 2 {
		t.Errorf("joined %d desyncs %d resyncs %d; want 4, 2 (one per room), at least 2",
			rep.ClientsJoined, rep.Desyncs, rep.Resyncs)
	}
	if err := rep.Failed(); err == nil || !strings.Contains(err.Error(), "desync") {
		t.Errorf("Failed() = %v, want the desyncs reported", err)
	}
	for i, c := range r.Clients() {
		st, s := c.State(), c.Stats()
		if !c.Synced() {
			t.Errorf("client %d not synced at the end", i)
		}
		want, err := srv.room(c.Session().RoomID).checksumAt(st.Tick)
		if err != nil || want != st.Checksum {
			t.Errorf("client %d checksum %#x at tick %d, server %#x (%v)", i, st.Checksum, st.Tick, want, err)
		}
		if s.CloseCode != 1000 || s.MatchEnd != nil || s.Connected <= 0 {
			t.Errorf("client %d: close %d, match end %v, connected %v; want 1000 after Leave, none, > 0",
				i, s.CloseCode, s.MatchEnd, s.Connected)
		}
		if wantDesyncs := int64(0); c.Session().PlayerID == 1 {
			wantDesyncs = 1
			if s.Desyncs != wantDesyncs || s.Snapshots == 0 {
				t.Errorf("client %d (player 1): desyncs %d snapshots %d, want 1, >0", i, s.Desyncs, s.Snapshots)
			}
		} else if s.Desyncs != wantDesyncs {
			t.Errorf("client %d: desyncs %d, want 0", i, s.Desyncs)
		}
	}
}

func TestRunJoinRefused(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{tickRate: 50, maxPlayers: 2})
	r, rep := runBots(t, RunConfig{URL: srv.url, Players: 3, Duration: 200 * time.Millisecond,
		Behaviour: "idle", JoinConcurrency: 1})

	if rep.ClientsJoined != 2 || rep.JoinFailures != 1 || rep.Failed() == nil {
		t.Fatalf("joined %d failures %d Failed %v; want 2, 1, an error", rep.ClientsJoined, rep.JoinFailures, rep.Failed())
	}
	var se *ServerError
	if errs := r.JoinErrors(); len(errs) != 1 || !errors.As(errs[0], &se) {
		t.Fatalf("join errors %v, want one *ServerError", errs)
	}
	if se.Code != tickwirev1.ErrorCode_ERROR_CODE_ROOM_FULL || se.CloseCode != 4004 {
		t.Errorf("join error %+v, want ROOM_FULL and close 4004", se)
	}
	if !strings.Contains(rep.FirstJoinError, "ROOM_FULL") {
		t.Errorf("first join error %q", rep.FirstJoinError)
	}
}

func TestDialErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Dial(ctx, Config{URL: "ws://127.0.0.1:1", RoomID: "r", Name: "n", JoinTimeout: time.Second}); err == nil {
		t.Error("Dial to a closed port succeeded")
	}
	if _, err := Dial(ctx, Config{URL: "ws://127.0.0.1:1"}); err == nil {
		t.Error("Dial without room and name succeeded")
	}
	if _, err := NewRunner(RunConfig{URL: "ws://x", Behaviour: "sneaky"}); !errors.Is(err, ErrUnknownBehaviour) {
		t.Errorf("NewRunner with an unknown behaviour = %v", err)
	}
	if _, err := NewRunner(RunConfig{}); err == nil {
		t.Error("NewRunner without a url succeeded")
	}
}

func TestRunStopsWithContext(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{tickRate: 50})
	r, err := NewRunner(RunConfig{URL: srv.url, Players: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	rep, err := r.Run(ctx) // no Duration: only the context ends it
	if err != nil || rep.ClientsJoined != 2 || rep.Failed() != nil {
		t.Fatalf("Run = %+v, %v", rep, err)
	}
	if _, err := r.Run(context.Background()); err == nil {
		t.Error("second Run succeeded")
	}
}

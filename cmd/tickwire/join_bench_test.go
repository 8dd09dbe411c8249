package main

import (
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tickwire/tickwire/bots"
)

// BenchmarkJoinThroughLobby is the whole join path as `tickwire bots` and game
// clients take it, on loopback, with a server and its lobby in this process:
// a room per 16 players (POST /v1/rooms), a seat (POST /v1/rooms/{id}/join,
// its ticket signed), the WebSocket upgrade, the join frame (the ticket
// checked) and the Welcome with its snapshot. Joined clients stay, so the
// rooms tick as they fill; up to 64 joins are in flight. It reports the
// process's CPU per join (server and bots both) and the joins per second.
// Run it with a fixed count, e.g. -benchtime 800x (50 rooms of 16).
func BenchmarkJoinThroughLobby(b *testing.B) {
	url, shutdown, err := localServer(b.Context(), "arena:16:0s", zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	defer shutdown()
	lob, err := bots.NewLobby(url)
	if err != nil {
		b.Fatal(err)
	}
	seat := bots.RoomSeats(lob, "arena", fmt.Sprintf("jb%d", time.Now().UnixNano()%1e9))

	var mu sync.Mutex // guards clients
	var clients []*bots.Client
	defer func() {
		for _, c := range clients {
			_ = c.Close()
		}
	}()
	inFlight := make(chan struct{}, 64)
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	b.ReportAllocs()
	cpu0, start := processCPU(), time.Now()
	for i := 0; b.Loop(); i++ {
		inFlight <- struct{}{}
		wg.Go(func() {
			defer func() { <-inFlight }()
			name := fmt.Sprintf("bot-%d-%d", i/16, i%16)
			s, err := seat(b.Context(), i/16, i%16, name)
			if err == nil {
				var c *bots.Client
				c, err = bots.Dial(b.Context(), bots.Config{URL: url, RoomID: s.RoomID, Ticket: s.Ticket, Name: name, Account: s.Player})
				if err == nil {
					mu.Lock()
					clients = append(clients, c)
					mu.Unlock()
					return
				}
			}
			select {
			case errs <- fmt.Errorf("join %d: %w", i, err):
			default:
			}
		})
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), processCPU()-cpu0
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/join")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "joins/s")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

package bots

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickwire/tickwire/netcode"
)

// serveEnv makes the test binary a game server (see TestServeNetcode), so a
// benchmark can measure bots in a process of their own.
const serveEnv = "TICKWIRE_BOTS_TEST_SERVE"

// TestServeNetcode is not a test: run as a child process with serveEnv set,
// it serves a real netcode server with open rooms on loopback, prints its
// address and serves until its standard input closes.
func TestServeNetcode(t *testing.T) {
	if os.Getenv(serveEnv) == "" {
		t.Skip("helper process for the bot memory benchmark")
	}
	srv, err := netcode.NewServer(netcode.Config{OpenRooms: true, NewGame: arenaGame})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(netcode.Path, srv)
	go func() { _ = http.Serve(ln, mux) }()
	fmt.Printf("ws://%s\n", ln.Addr())
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes stdin
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
}

// startServerProcess starts TestServeNetcode in a child process and returns
// its ws base URL; the child stops when the test ends.
func startServerProcess(tb testing.TB) string {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeNetcode$", "-test.count=1")
	cmd.Env = append(os.Environ(), serveEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ws://") {
		tb.Fatalf("server process said %q: %v", line, err)
	}
	return strings.TrimSpace(line)
}

// memSample is the process's memory at one moment, after a GC.
type memSample struct {
	heap, stack, rss uint64
	alloc, mallocs   uint64
	goroutines       int
	at               time.Time
}

func sampleMemory() memSample {
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSample{
		heap: ms.HeapInuse, stack: ms.StackInuse, rss: uint64(max(processRSS(), 0)),
		alloc: ms.TotalAlloc, mallocs: ms.Mallocs, goroutines: runtime.NumGoroutine(), at: time.Now(),
	}
}

// processRSS is this process's resident memory (Linux), or -1.
func processRSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return -1
	}
	var size, resident int64
	if _, err := fmt.Sscan(string(b), &size, &resident); err != nil {
		return -1
	}
	return resident * int64(os.Getpagesize())
}

// BenchmarkBotMemory dials 256 bots (16 rooms of 16) to a real server in
// another process and reports what each bot costs this process: heap and
// goroutine stacks in use (heap-B/bot), resident memory (rss-B/bot), and, over
// two seconds of the arena's 20 Hz frames, bytes and objects allocated per bot
// per second. Run with -benchtime=1x.
//
// On the 2-core reference machine: deflate about 22 KB heap and stack, 20 KB
// resident per bot (it was 411 KB and 178 KB while gws negotiated deflate and
// built its flate writer and reader per connection); plain about 15 KB; both
// allocate about 26 KB and 185 objects per bot per second. On 2026-12-02
// (shared machine): deflate 30 KB heap and stack, 43 KB resident, and 14 KB
// and 42 objects allocated per bot per second with the process-wide frame
// cache (32 KB, 45 KB, 35 KB and 165 objects before it); plain 23 KB, 23 KB,
// 35 KB and 165 objects.
func BenchmarkBotMemory(b *testing.B) {
	url := startServerProcess(b)
	for _, deflate := range []bool{true, false} {
		name := map[bool]string{true: "deflate", false: "plain"}[deflate]
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				measureBots(b, url, name, !deflate)
			}
		})
	}
}

func measureBots(b *testing.B, url, prefix string, noDeflate bool) {
	const rooms, perRoom = 16, 16
	const n = rooms * perRoom
	ctx := context.Background()
	before := sampleMemory()
	clients := make([]*Client, 0, n)
	defer func() {
		for _, c := range clients {
			_ = c.Close()
		}
		for _, c := range clients {
			<-c.Done()
		}
	}()
	run := time.Now().UnixNano()
	for room := range rooms { // a room's bots at once: each join waits for a tick
		cs := make([]*Client, perRoom)
		errs := make([]error, perRoom)
		var wg sync.WaitGroup
		for i := range perRoom {
			wg.Go(func() {
				cs[i], errs[i] = Dial(ctx, Config{
					URL: url, RoomID: fmt.Sprintf("mem-%s-%d-%d", prefix, run, room),
					Name: fmt.Sprintf("bot-%d", i), DisableCompression: noDeflate,
				})
			})
		}
		wg.Wait()
		for i, c := range cs {
			if errs[i] != nil {
				b.Fatal(errs[i])
			}
			if c.Stats().Deflate == noDeflate {
				b.Fatalf("deflate negotiated: %v, want %v", !noDeflate, noDeflate)
			}
			clients = append(clients, c)
		}
	}
	time.Sleep(500 * time.Millisecond)
	joined := sampleMemory()
	updatesBefore := sumUpdates(b, clients)
	time.Sleep(2 * time.Second)
	after := sampleMemory()
	secs := after.at.Sub(joined.at).Seconds()
	updates := sumUpdates(b, clients) - updatesBefore
	b.ReportMetric(float64(joined.heap+joined.stack-before.heap-before.stack)/n, "heap-B/bot")
	b.ReportMetric(float64(int64(joined.rss)-int64(before.rss))/n, "rss-B/bot")
	b.ReportMetric(float64(joined.goroutines-before.goroutines)/n, "goroutines/bot")
	b.ReportMetric(float64(after.alloc-joined.alloc)/n/secs, "alloc-B/bot/s")
	b.ReportMetric(float64(after.mallocs-joined.mallocs)/n/secs, "allocs/bot/s")
	b.ReportMetric(float64(updates)/n/secs, "updates/bot/s")
}

func sumUpdates(b *testing.B, clients []*Client) int64 {
	var n int64
	for _, c := range clients {
		s := c.Stats()
		n += s.Updates
		if s.Desyncs != 0 || s.Closed {
			b.Fatalf("bot %s: desyncs %d closed %v", s.Name, s.Desyncs, s.Closed)
		}
	}
	return n
}

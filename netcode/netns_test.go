package netcode

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"google.golang.org/protobuf/proto"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/game/arena"
	"github.com/tickwire/tickwire/internal/wsframe"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// netnsVar names the test a re-executed test binary runs inside its own
// network namespace.
const netnsVar = "TICKWIRE_TEST_NETNS"

// tcpBufMax caps the kernel's TCP buffers inside the namespace, as on a WAN
// link: on loopback the kernel grows them to 4 MiB, and a client that stops
// reading would take minutes to fill them.
const tcpBufMax = 32 << 10

// inNetns runs the calling test in a network namespace of its own, made with
// `unshare -n`: only its loopback is up, and tcp_wmem and tcp_rmem are
// capped to tcpBufMax. It reports true in the re-executed test, which then
// does the work; the outer test returns when it reports false, its result
// being the inner run's. Without root the test is skipped.
func inNetns(t *testing.T) bool {
	t.Helper()
	if os.Getenv(netnsVar) == t.Name() {
		setUpNetns(t)
		return true
	}
	if os.Geteuid() != 0 {
		t.Skip("backpressure test: needs root to make a network namespace (unshare -n) with capped TCP buffers; CI runs as root")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("backpressure test: unshare (util-linux) not found")
	}
	timeout := "120s"
	if d, ok := t.Deadline(); ok {
		timeout = time.Until(d).Round(time.Second).String()
	}
	cmd := exec.CommandContext(t.Context(), unshare, "-n", "--", os.Args[0],
		"-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.count=1", "-test.v", "-test.timeout="+timeout)
	cmd.Env = append(os.Environ(), netnsVar+"="+t.Name())
	out, err := cmd.CombinedOutput()
	t.Logf("in a network namespace:\n%s", out)
	if err != nil {
		t.Fatalf("test in the network namespace: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatal("test in the network namespace did not pass")
	}
	return false
}

// setUpNetns brings up loopback and caps the TCP buffers of the namespace
// the test runs in.
func setUpNetns(t *testing.T) {
	t.Helper()
	if err := linkUp("lo"); err != nil {
		t.Fatalf("bring up lo: %v", err)
	}
	for _, f := range []string{"tcp_wmem", "tcp_rmem"} {
		v := fmt.Sprintf("4096 %d %d", tcpBufMax/2, tcpBufMax)
		if err := os.WriteFile("/proc/sys/net/ipv4/"+f, []byte(v), 0o644); err != nil {
			t.Fatalf("cap %s: %v", f, err)
		}
	}
}

// linkUp sets the IFF_UP flag of a network interface.
func linkUp(name string) error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	var ifr [40]byte // struct ifreq: the name, then a union starting with the flags
	copy(ifr[:syscall.IFNAMSIZ-1], name)
	ioctl := func(req uintptr) error {
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
			return e
		}
		return nil
	}
	if err := ioctl(syscall.SIOCGIFFLAGS); err != nil {
		return err
	}
	flags := binary.NativeEndian.Uint16(ifr[syscall.IFNAMSIZ:])
	binary.NativeEndian.PutUint16(ifr[syscall.IFNAMSIZ:], flags|syscall.IFF_UP)
	return ioctl(syscall.SIOCSIFFLAGS)
}

// dialTinyWindow upgrades a raw client whose receive buffer is tiny, so the
// server's writes to it back up after a few frames.
func dialTinyWindow(t *testing.T, base string) *rawWS {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048) })
		if err != nil {
			return err
		}
		return serr
	}}
	addr := strings.TrimPrefix(base, "ws://")
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return handshake(t, c, addr)
}

// bigRoom is a server whose state frames are large (thousands of moving
// orbs) and frequent, so that socket buffers fill fast.
func bigRoom(t *testing.T, cfg Config) (*Server, string) {
	cfg.OpenRooms, cfg.TickRate, cfg.NoDeflate = true, 50, true
	cfg.NewGame = func(string) game.Game { return arena.New(arena.Config{NPCs: 3000}) }
	return startServer(t, cfg)
}

// reader reads a raw client's frames on a goroutine, checking that each is
// a whole, well-formed server frame, and counts them.
type reader struct {
	states, pongs atomic.Int64
	done          chan struct{}
	err           atomic.Pointer[error]
}

func readAll(c *rawWS) *reader {
	r := &reader{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			op, p, err := c.readStrict()
			if err != nil {
				r.err.Store(&err)
				return
			}
			switch op {
			case opBinary:
				var f pb.ServerFrame
				if err := proto.Unmarshal(p, &f); err != nil {
					err = fmt.Errorf("binary frame of %d bytes is not a ServerFrame: %w", len(p), err)
					r.err.Store(&err)
					return
				}
				if f.GetDelta() != nil || f.GetSnapshot() != nil {
					r.states.Add(1)
				}
			case opPong:
				r.pongs.Add(1)
			case opClose:
				err := fmt.Errorf("closed by the server: % x", p)
				r.err.Store(&err)
				return
			}
		}
	}()
	return r
}

// failure is what ended the reader, if it ended.
func (r *reader) failure() error {
	if e := r.err.Load(); e != nil {
		return *e
	}
	return nil
}

// readStrict reads one server frame and refuses anything a server must not
// send: a fragment, reserved bits (no extension is negotiated), an unknown
// opcode or an oversized control frame. Bytes of one frame written into the
// middle of another show up as one of these.
func (c *rawWS) readStrict() (byte, []byte, error) {
	b0, err := c.br.Peek(1)
	if err != nil {
		return 0, nil, err
	}
	if b0[0]&0xf0 != wsframe.FinBit {
		return 0, nil, fmt.Errorf("frame header %#x: fragment or reserved bits", b0[0])
	}
	op, p, err := c.readFrame()
	if err != nil {
		return 0, nil, err
	}
	switch {
	case op != opBinary && op != opClose && op != opPing && op != opPong:
		return 0, nil, fmt.Errorf("opcode %#x", op)
	case op >= opClose && len(p) > 125:
		return 0, nil, fmt.Errorf("control frame %#x of %d bytes", op, len(p))
	}
	return op, p, nil
}

// slowReader reads at most 512 bytes at a time, a millisecond apart: a
// client on a slow link.
type slowReader struct{ r io.Reader }

func (s slowReader) Read(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	return s.r.Read(p[:min(len(p), 512)])
}

// TestPingFloodingNonReaderFreezesNothing has clients with a tiny receive
// window never read their socket and send WebSocket pings as fast as the
// rate limit lets them: one seated in a room, one that never joins. The room
// goes on ticking for another player, the node's counters answer, the
// janitor still times out handshakes, and both attackers are dropped.
func TestPingFloodingNonReaderFreezesNothing(t *testing.T) {
	if !inNetns(t) {
		return
	}
	srv, base := bigRoom(t, Config{
		HandshakeTimeout: 3 * time.Second, WriteTimeout: 2 * time.Second, SlowConsumerTimeout: 2 * time.Second,
		ClientRate: 1000, ClientBurst: 1000,
	})
	observer, _ := joinRaw(t, base, openJoin("ping"))
	seen := readAll(observer)

	stop := make(chan struct{})
	defer close(stop)
	flood := func(c *rawWS) {
		ping := appendClientFrame(nil, opPing, make([]byte, 125))
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond): // under the limit of 1000 a second
			}
			if _, err := c.Write(ping); err != nil {
				return
			}
		}
	}
	seated := dialTinyWindow(t, base)
	seated.writeFrame(t, joinFrame("ping"))
	go flood(seated)
	go flood(dialTinyWindow(t, base))

	// Each of these waits on an event and gives up after a bound only to
	// report a freeze rather than hang.
	stats := func() Stats {
		got := make(chan Stats, 1)
		go func() { got <- srv.Stats() }()
		select {
		case st := <-got:
			return st
		case <-time.After(20 * time.Second):
			t.Fatal("Stats() blocked for 20s")
			return Stats{}
		}
	}
	waitUntil(t, "attackers dropped", func() bool {
		if err := seen.failure(); err != nil {
			t.Fatalf("observer: %v", err)
		}
		return stats().Connections == 1
	})
	late := dialRawWS(t, base) // never joins
	before := seen.states.Load()
	waitUntil(t, "room ticking for the observer", func() bool { return seen.states.Load() > before+50 })
	if code, e := late.readUntilClose(t); code != 4006 {
		t.Fatalf("client that never joined: close %d, error %v; want 4006 HANDSHAKE_TIMEOUT", code, e)
	}
	if err := seen.failure(); err != nil {
		t.Fatalf("observer: %v", err)
	}
	st := stats()
	t.Logf("attackers dropped: handshake_timeouts %d, slow_consumers %d, write_timeouts %d; observer got %d state frames",
		st.HandshakeTimeouts, st.SlowConsumers, st.WriteTimeouts, seen.states.Load())
}

// TestPongNeverSplitsAFrame has a client read its tiny receive window slowly
// while it pings: the server's writes to it are partial most of the time,
// and every pong must come between two whole frames.
func TestPongNeverSplitsAFrame(t *testing.T) {
	if !inNetns(t) {
		return
	}
	_, base := bigRoom(t, Config{WriteTimeout: 10 * time.Second, SlowConsumerTimeout: time.Minute, ClientRate: 1000, ClientBurst: 1000})
	c := dialTinyWindow(t, base)
	c.writeFrame(t, joinFrame("pong"))
	c.br = bufio.NewReaderSize(slowReader{c.br}, 512)
	seen := readAll(c)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			if _, err := c.Write(appendClientFrame(nil, opPing, fmt.Appendf(nil, "ping %d", i))); err != nil {
				return
			}
		}
	}()
	waitUntil(t, "2000 pongs", func() bool {
		if err := seen.failure(); err != nil {
			t.Fatalf("after %d state frames and %d pongs: %v", seen.states.Load(), seen.pongs.Load(), err)
		}
		return seen.pongs.Load() >= 2000
	})
	t.Logf("%d state frames and %d pongs, all whole", seen.states.Load(), seen.pongs.Load())
}

// TestLaggedClientThatCaughtUpStaysConnected has a client stop reading until
// the server drops frames for it, then read again: it is caught up, and
// stays connected well past WriteTimeout, getting every tick.
func TestLaggedClientThatCaughtUpStaysConnected(t *testing.T) {
	if !inNetns(t) {
		return
	}
	srv, base := bigRoom(t, Config{WriteTimeout: 500 * time.Millisecond, SlowConsumerTimeout: time.Minute})
	c := dialTinyWindow(t, base)
	c.writeFrame(t, joinFrame("lag"))
	waitUntil(t, "client lagging", func() bool { return srv.Stats().Lagged > 0 })
	seen := readAll(c)
	waitUntil(t, "client caught up", func() bool { return srv.Stats().Resyncs > 0 })
	// 300 ticks at 50 Hz: six seconds, twelve write timeouts.
	before := seen.states.Load()
	waitUntil(t, "300 more ticks", func() bool {
		if err := seen.failure(); err != nil {
			t.Fatalf("after %d state frames: %v", seen.states.Load()-before, err)
		}
		return seen.states.Load() >= before+300
	})
	if st := srv.Stats(); st.Connections != 1 || st.WriteTimeouts != 0 {
		t.Fatalf("connections %d, write timeouts %d; want the client still connected", st.Connections, st.WriteTimeouts)
	}
}

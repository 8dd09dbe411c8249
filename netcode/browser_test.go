package netcode

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium, which scripts/test.sh installs.
const chromiumPath = "/usr/bin/chromium"

// browserPage is a game client written from PROTOCOL.md and the .proto alone,
// in plain JavaScript: it encodes the few protobuf bytes it sends by hand,
// and of what it receives reads only the Welcome (ServerFrame field 1) and
// its resume_token (Welcome field 9). run(scenario) resolves to the close
// code the page's first socket saw. The page comes from one loopback server
// and the game socket is another, as a game's page and its nodes would be.
const browserPage = `<!doctype html>
<meta charset="utf-8">
<title>tickwire close codes</title>
<script>
function varint(n) { const b = []; while (n > 127) { b.push((n & 127) | 128); n >>>= 7; } b.push(n); return b; }
function str(field, s) { const b = new TextEncoder().encode(s); return [field << 3 | 2, ...varint(b.length), ...b]; }
// ClientFrame{join: Join{protocol_version: 2, room_id, name, resume_token}}
function join(room, token) {
  let j = [1 << 3 | 0, 2, ...str(2, room), ...str(3, "browser")];
  if (token) j = j.concat(str(5, token));
  return new Uint8Array([1 << 3 | 2, ...varint(j.length), ...j]);
}
// fields calls fn(field, bytes) for each length-delimited field of a
// message and skips the others.
function fields(b, fn) {
  let i = 0;
  const uvarint = () => { let n = 0, s = 0, c; do { c = b[i++]; n += (c & 127) * 2 ** s; s += 7; } while (c & 128); return n; };
  while (i < b.length) {
    const key = uvarint(), field = Math.floor(key / 8);
    switch (key & 7) {
    case 0: uvarint(); break;
    case 1: i += 8; break;
    case 5: i += 4; break;
    case 2: { const n = uvarint(); fn(field, b.subarray(i, i + n)); i += n; break; }
    default: throw new Error("wire type " + (key & 7));
    }
  }
}
// welcome returns the Welcome's resume_token if b is a ServerFrame{welcome}.
function welcome(b) {
  let token = null;
  fields(b, (f, w) => { if (f === 1) { token = ""; fields(w, (g, v) => { if (g === 9) token = new TextDecoder().decode(v); }); } });
  return token;
}
const leave = new Uint8Array([4 << 3 | 2, 0]); // ClientFrame{leave: Leave{}}
let url; // the game socket, given to run

function open(onWelcome) {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  ws.closed = new Promise(resolve => ws.onclose = e => resolve(e.code));
  ws.onmessage = e => {
    const token = welcome(new Uint8Array(e.data));
    if (token !== null && !ws.welcomed) { ws.welcomed = true; onWelcome(ws, token); }
  };
  return ws;
}

function run(scenario, socket) {
  url = socket;
  switch (scenario) {
  case "leave": {
    const ws = open(ws => ws.send(leave));
    ws.onopen = () => ws.send(join("browser-leave"));
    return ws.closed;
  }
  case "bad frame": {
    const ws = open(() => {});
    ws.onopen = () => ws.send(new Uint8Array([0xff, 0xff, 0xff]));
    return ws.closed;
  }
  case "replaced": { // a second connection resumes the first one's seat
    const first = open((ws, token) => {
      const second = open(() => {});
      second.onopen = () => second.send(join("browser-seat", token));
    });
    first.onopen = () => first.send(join("browser-seat"));
    return first.closed;
  }
  }
  return Promise.reject(new Error("unknown scenario " + scenario));
}
</script>`

// TestBrowserSeesCloseCodes runs the page above in a real headless
// Chromium against a real server on loopback: the browser must see the
// close codes the protocol promises, which it reports as 1006 when the
// server breaks the closing handshake (for instance with a second Close
// frame).
func TestBrowserSeesCloseCodes(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("no browser at %s (scripts/test.sh installs Debian's chromium): %v", chromiumPath, err)
	}
	_, base := startServer(t, Config{OpenRooms: true})
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = fmt.Fprint(w, browserPage)
	}))
	defer page.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	if _, err := chromedp.Run(bctx, chromedp.Navigate(page.URL)); err != nil {
		t.Fatalf("open the page in %s: %v", chromiumPath, err)
	}
	for _, tc := range []struct {
		scenario string
		code     int
	}{
		{"leave", closeNormal},
		{"bad frame", 4001},
		{"replaced", 4015},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			code, err := chromedp.Run(bctx, chromedp.Evaluate[int](fmt.Sprintf("run(%q, %q)", tc.scenario, base+Path), chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatalf("page: %v", err)
			}
			if code != tc.code {
				t.Fatalf("the browser saw close code %d, want %d", code, tc.code)
			}
		})
	}
}

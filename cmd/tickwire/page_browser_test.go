package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/tickwire/tickwire/bots"
	"github.com/tickwire/tickwire/netcode"
)

// pageScreenshot, when set, is where TestPageInChromium writes a PNG of the
// page playing a room (README's docs/page.png comes from
// `go test ./cmd/tickwire -run TestPageInChromium -page-screenshot ../../docs/page.png`).
var pageScreenshot = flag.String("page-screenshot", "", "write a screenshot of the page playing a room to this file")

// chromium is Debian's chromium, which scripts/test.sh installs.
const chromium = "/usr/bin/chromium"

// roomDebug is what the page's window.tickwire.room() reports.
type roomDebug struct {
	Room      string                  `json:"room"`
	Connected bool                    `json:"connected"`
	Spectator bool                    `json:"spectator"`
	PlayerID  int                     `json:"playerId"`
	Tick      uint64                  `json:"tick"`
	Entities  int                     `json:"entities"`
	Players   []string                `json:"players"`
	Drawn     int                     `json:"drawn"`
	Me        *struct{ X, Y float64 } `json:"me"`
	Stats     map[string]float64      `json:"stats"`
	Checksums map[string]uint32       `json:"checksums"`
	Closed    string                  `json:"closed"`
	Error     string                  `json:"error"`
}

// TestPageInChromium opens the page tickwire serve shows at / in a real
// headless Chromium, the way a newcomer would: it plays a room that two of
// our bots play in, draws it, verifies every frame, moves with the keyboard;
// a second tab watches the same room as a spectator and holds the very same
// state; closing the playing tab ends its seat as a drop, held for the
// rejoin grace and then freed.
func TestPageInChromium(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("no browser at %s (scripts/test.sh installs Debian's chromium): %v", chromium, err)
	}
	const grace = 3 * time.Second
	tn := startNode(t, "arena:16:2m", netcode.Config{AllowSameOrigin: true, RejoinGrace: grace})
	base := "http" + strings.TrimPrefix(tn.url, "ws")
	lob, err := bots.NewLobby(tn.url)
	if err != nil {
		t.Fatal(err)
	}
	defer lob.CloseIdleConnections()
	room, err := lob.CreateRoom(t.Context(), "arena", false)
	if err != nil {
		t.Fatal(err)
	}
	bot := playBots(t, lob, room.RoomID, 2)

	browser := startChromium(t)

	// The room list shows the room with its two players.
	player, closePlayer := chromedp.NewContext(browser)
	defer closePlayer()
	playLink := chromedp.CSS(`a[href="#/play/` + room.RoomID + `"]`)
	if err := chromedp.Do(player, chromedp.EmulateViewport(1280, 980), chromedp.Navigate(base+"/#/rooms"), chromedp.WaitVisible(playLink)); err != nil {
		t.Fatalf("the room list: %v", err)
	}
	// The directory learns the room's players from the node's next report,
	// and the page redraws the list every 2 s.
	var listed string
	if !eventually(15*time.Second, func() bool {
		var err error
		listed, err = chromedp.Run(player, chromedp.Text(chromedp.CSS("main")))
		return err == nil && strings.Contains(listed, room.RoomID) && strings.Contains(listed, "2/16")
	}) {
		t.Fatalf("the room list reads %q; want room %s with 2/16 players", listed, room.RoomID)
	}

	// Play: the page joins through the lobby, draws, and verifies frames.
	if err := chromedp.Do(player, chromedp.Click(playLink)); err != nil {
		t.Fatal(err)
	}
	me := waitRoom(t, player, "playing", func(d roomDebug) bool {
		return d.Connected && d.Me != nil && d.Stats["framesVerified"] >= 60 && d.Drawn >= 3
	})
	if me.Spectator || me.PlayerID == 0 || len(me.Players) != 3 {
		t.Fatalf("playing: %+v; want a seat among 3 players", me)
	}
	if ink, err := chromedp.Run(player, chromedp.Evaluate[int](`window.tickwire.ink()`)); err != nil || ink < 500 {
		t.Fatalf("the canvas has %d non-background pixels (%v); want the room drawn", ink, err)
	}

	// The keyboard moves the player: hold D (east), then W (north).
	for _, key := range []struct {
		code, key string
		vk        int64
		moved     func(from, to struct{ X, Y float64 }) bool
	}{
		{"KeyD", "d", 68, func(a, b struct{ X, Y float64 }) bool { return b.X > a.X+1 }},
		{"KeyW", "w", 87, func(a, b struct{ X, Y float64 }) bool { return b.Y > a.Y+1 }},
	} {
		from := *waitRoom(t, player, "before "+key.code, func(d roomDebug) bool { return d.Me != nil }).Me
		if err := chromedp.Do(player, keyEvent(input.DispatchKeyEventTypeKeyDown, key.code, key.key, key.vk)); err != nil {
			t.Fatal(err)
		}
		to := waitRoom(t, player, "holding "+key.code, func(d roomDebug) bool { return d.Me != nil && key.moved(from, *d.Me) })
		if err := chromedp.Do(player, keyEvent(input.DispatchKeyEventTypeKeyUp, key.code, key.key, key.vk)); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s moved the player from (%.1f, %.1f) to (%.1f, %.1f)", key.code, from.X, from.Y, to.Me.X, to.Me.Y)
	}

	// A spectator in another tab sees the same state: at every tick both
	// tabs verified, and at the bot's own tick, the checksums agree.
	watcher, closeWatcher := chromedp.NewContext(browser)
	defer closeWatcher()
	if err := chromedp.Do(watcher, chromedp.Navigate(base+"/#/watch/"+room.RoomID)); err != nil {
		t.Fatal(err)
	}
	w := waitRoom(t, watcher, "watching", func(d roomDebug) bool {
		return d.Connected && d.Stats["framesVerified"] >= 40 && d.Drawn >= 3
	})
	if !w.Spectator || w.PlayerID != 0 || len(w.Players) != 3 {
		t.Fatalf("watching: %+v; want a spectator without a seat seeing 3 players", w)
	}
	p := readRoom(t, player)
	botState := bot.State()
	common := 0
	for tick, sum := range w.Checksums {
		if ps, ok := p.Checksums[tick]; ok {
			common++
			if ps != sum {
				t.Errorf("tick %s: the spectator's checksum %08x, the player's %08x", tick, sum, ps)
			}
		}
	}
	if common < 20 {
		t.Errorf("the spectator and the player verified %d ticks in common; want at least 20", common)
	}
	if sum, ok := p.Checksums[fmt.Sprint(botState.Tick)]; ok && sum != botState.Checksum {
		t.Errorf("tick %d: the page's checksum %08x, the bot's %08x", botState.Tick, sum, botState.Checksum)
	}
	for name, d := range map[string]roomDebug{"player": p, "spectator": w} {
		if d.Stats["checksumMismatches"] != 0 || d.Stats["resyncs"] != 0 {
			t.Errorf("%s tab: %v checksum mismatches and %v resyncs; want 0", name, d.Stats["checksumMismatches"], d.Stats["resyncs"])
		}
	}
	if *pageScreenshot != "" {
		png, err := chromedp.Run(player, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(*pageScreenshot, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The monitor lists the room with its players and spectator, live, and
	// a click on its row watches it.
	monitor, closeMonitor := chromedp.NewContext(browser)
	defer closeMonitor()
	if err := chromedp.Do(monitor, chromedp.Navigate(base+"/#/monitor"), chromedp.WaitVisible(chromedp.CSS("tr.link"))); err != nil {
		t.Fatalf("the monitor: %v", err)
	}
	waitFor(t, 10*time.Second, "the monitor's row of the room", func() bool {
		row, err := chromedp.Run(monitor, chromedp.Text(chromedp.CSS("tr.link")))
		return err == nil && strings.Contains(row, room.RoomID) && strings.Contains(row, "3/16") && strings.Contains(row, "running")
	})
	if err := chromedp.Do(monitor, chromedp.Click(chromedp.CSS("tr.link"))); err != nil {
		t.Fatal(err)
	}
	waitRoom(t, monitor, "watching from the monitor", func(d roomDebug) bool { return d.Spectator && d.Room == room.RoomID && d.Stats["framesVerified"] >= 5 })
	closeMonitor()

	// Closing the playing tab is a drop: the seat is held for the grace,
	// then freed; the spectator sees the player leave.
	held0, expired0 := tn.node.game.Stats().SeatsHeld, tn.node.game.Stats().SeatsExpired
	closePlayer()
	waitFor(t, 10*time.Second, "the closed tab's seat held", func() bool { return tn.node.game.Stats().SeatsHeld == held0+1 })
	if n := roomPlayers(tn, room.RoomID); n != 3 {
		t.Errorf("while the seat is held the room has %d players; want 3", n)
	}
	waitFor(t, grace+10*time.Second, "the held seat freed after the grace", func() bool { return tn.node.game.Stats().SeatsExpired == expired0+1 })
	waitRoom(t, watcher, "the spectator sees the player gone", func(d roomDebug) bool { return len(d.Players) == 2 })
	if d := readRoom(t, watcher); d.Stats["checksumMismatches"] != 0 || d.Stats["resyncs"] != 0 {
		t.Errorf("spectator after the drop: %v mismatches, %v resyncs; want 0", d.Stats["checksumMismatches"], d.Stats["resyncs"])
	}
}

// startChromium starts a headless Chromium for the test and returns the
// context of its first tab, which holds the browser open: give each page a
// tab of its own (chromedp.NewContext of it), so closing one closes only
// that tab.
func startChromium(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		// Nothing but the page: no update checks, sync or other calls out.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("no-pings", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}
	return browser
}

// TestPageQuickPlayAndLeaderboards: two visitors, each in a browser context
// of their own (their own storage, so their own player id), press Quick play
// on a two-player mode; matchmaking puts them in one room, they play it to
// its end, and the leaderboards view then lists them both.
func TestPageQuickPlayAndLeaderboards(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("no browser at %s (scripts/test.sh installs Debian's chromium): %v", chromium, err)
	}
	tn := startNode(t, "duel:2:3s", netcode.Config{AllowSameOrigin: true})
	base := "http" + strings.TrimPrefix(tn.url, "ws")
	browser := startChromium(t)
	var tabs []context.Context
	for range 2 {
		tab, closeTab := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
		t.Cleanup(closeTab)
		if err := chromedp.Do(tab,
			chromedp.Navigate(base+"/#/rooms"),
			chromedp.WaitReady(chromedp.CSS(`#mode option[value="duel"]`)),
			chromedp.SetValue(chromedp.CSS("#mode"), "duel"),
			chromedp.Click(chromedp.CSS("#quick button")),
		); err != nil {
			t.Fatalf("quick play: %v", err)
		}
		tabs = append(tabs, tab)
	}
	var names []string
	var rooms []string
	for i, tab := range tabs {
		d := waitRoom(t, tab, fmt.Sprintf("visitor %d matched and playing", i), func(d roomDebug) bool {
			return d.Connected && len(d.Players) == 2 && d.Stats["framesVerified"] >= 10
		})
		rooms = append(rooms, d.Room)
		name, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("name").value`))
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	if rooms[0] != rooms[1] || names[0] == names[1] {
		t.Fatalf("the visitors %q were matched into rooms %q; want one room for two different players", names, rooms)
	}
	for i, tab := range tabs {
		d := waitRoom(t, tab, fmt.Sprintf("visitor %d sees the match end", i), func(d roomDebug) bool { return d.Closed != "" })
		if d.Closed != "match_ended" || d.Stats["checksumMismatches"] != 0 {
			t.Fatalf("visitor %d: closed %q with %v mismatches; want match_ended and 0", i, d.Closed, d.Stats["checksumMismatches"])
		}
	}
	if err := chromedp.Do(tabs[0], chromedp.Navigate(base+"/#/leaderboards")); err != nil {
		t.Fatal(err)
	}
	var board string
	waitFor(t, 20*time.Second, "both visitors on the leaderboard", func() bool {
		var err error
		board, err = chromedp.Run(tabs[0], chromedp.Evaluate[string](`document.querySelector("main").innerText`))
		return err == nil && strings.Contains(board, names[0]) && strings.Contains(board, names[1])
	})
}

// playBots seats n bots in a room through the lobby and keeps them moving
// until the test ends; it returns the first.
func playBots(t *testing.T, lob *bots.Lobby, roomID string, n int) *bots.Client {
	t.Helper()
	return playGame(t, lob, roomID, 0, n, func(i int) bots.Behaviour { return bots.NewRandom(uint64(i + 1)) })
}

// playGame is playBots for bots from..to-1, each with behaviour(i).
func playGame(t *testing.T, lob *bots.Lobby, roomID string, from, to int, behaviour func(i int) bots.Behaviour) *bots.Client {
	t.Helper()
	var first *bots.Client
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := from; i < to; i++ {
		id := fmt.Sprintf("bot%d", i)
		seat, err := lob.JoinRoom(t.Context(), roomID, id, "Bot "+fmt.Sprint(i))
		if err != nil {
			t.Fatal(err)
		}
		c, err := dialBot(t, bots.Config{URL: seat.URL, RoomID: seat.RoomID, Name: "Bot " + fmt.Sprint(i), Ticket: seat.Ticket, Account: id, Behaviour: behaviour(i)})
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = c
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-c.Done():
					return
				case now := <-tick.C:
					_ = c.Act(now)
				}
			}
		}()
	}
	t.Cleanup(func() { close(stop); wg.Wait() })
	return first
}

func readRoom(t *testing.T, tab context.Context) roomDebug {
	t.Helper()
	d, err := chromedp.Run(tab, chromedp.Evaluate[*roomDebug](`window.tickwire.room() ?? null`))
	if err != nil {
		t.Fatalf("read the page's room: %v", err)
	}
	if d == nil {
		return roomDebug{}
	}
	return *d
}

// waitRoom polls the page's room until ok holds, for at most 30 s.
func waitRoom(t *testing.T, tab context.Context, what string, ok func(roomDebug) bool) roomDebug {
	t.Helper()
	var last roomDebug
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if last = readRoom(t, tab); ok(last) {
			return last
		}
		time.Sleep(100 * time.Millisecond)
	}
	lastError, _ := chromedp.Run(tab, chromedp.Evaluate[string](`window.tickwire.lastError`))
	t.Fatalf("%s: the page never got there; last it reported %+v (page error %q)", what, last, lastError)
	return last
}

// keyEvent presses (keyDown) or releases (keyUp) one key, as a keyboard would.
func keyEvent(typ input.DispatchKeyEventType, code, key string, vk int64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{Type: typ, Code: code, Key: key, WindowsVirtualKeyCode: vk, NativeVirtualKeyCode: vk})
		return err
	})
}

func roomPlayers(tn *testNode, id string) int {
	for _, r := range tn.node.game.Rooms() {
		if r.ID == id {
			return r.Players
		}
	}
	return -1
}

// TestPageNewcomerPlaysTheDemoRoom is the quick start as a newcomer lives
// it: `tickwire serve --demo-bots 4`, the page at /, the demo room first in
// the list with its bots, and Play: the bots' avatars move on the page and
// the newcomer plays beside them with 0 checksum mismatches.
func TestPageNewcomerPlaysTheDemoRoom(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("no browser at %s (scripts/test.sh installs Debian's chromium): %v", chromium, err)
	}
	p := startProcess(t, freeAddr(t), "--demo-bots", "4", "--data-dir", t.TempDir())
	demo := waitDemoRoom(t, p, "", 4)
	tab, closeTab := chromedp.NewContext(startChromium(t))
	defer closeTab()
	first := chromedp.CSS("main tbody tr:first-child")
	if err := chromedp.Do(tab, chromedp.Navigate("http://"+p.addr+"/"), chromedp.WaitVisible(first)); err != nil {
		t.Fatalf("the page: %v", err)
	}
	var row string
	waitFor(t, 10*time.Second, "the demo room first in the room list", func() bool {
		var err error
		row, err = chromedp.Run(tab, chromedp.Text(first))
		return err == nil && strings.Contains(row, demo.ID) && strings.Contains(row, "demo") && strings.Contains(row, "4/")
	})
	if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS(`main tbody tr:first-child a[href^="#/play/"]`))); err != nil {
		t.Fatal(err)
	}
	waitRoom(t, tab, "playing the demo room", func(d roomDebug) bool {
		return d.Connected && d.Room == demo.ID && len(d.Players) == 5 && d.Stats["framesVerified"] >= 20
	})
	// The bots move: the room's state, and so its checksum, keeps changing
	// over the ticks the page verified (nobody else moves in it).
	time.Sleep(time.Second)
	after := readRoom(t, tab)
	changed := map[uint32]bool{}
	for _, c := range after.Checksums {
		changed[c] = true
	}
	if len(changed) < 5 || after.Stats["checksumMismatches"] != 0 || after.Drawn < 5 {
		t.Fatalf("the demo room on the page: %d distinct states in %d ticks, %v mismatches, %d drawn; want a moving room, 0 mismatches and every avatar drawn",
			len(changed), len(after.Checksums), after.Stats["checksumMismatches"], after.Drawn)
	}
}

// TestPageWatchesAnyGame: the page draws a room from its schema alone. A
// connect4 room two bots play, watched: its board is drawn from the room's
// fields (the discs played so far), with every frame verified.
func TestPageWatchesAnyGame(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("no browser at %s (scripts/test.sh installs Debian's chromium): %v", chromium, err)
	}
	tn := startNode(t, "c4:2:2m:connect4", netcode.Config{AllowSameOrigin: true})
	lob, err := bots.NewLobby(tn.url)
	if err != nil {
		t.Fatal(err)
	}
	defer lob.CloseIdleConnections()
	room, err := lob.CreateRoom(t.Context(), "c4", false)
	if err != nil {
		t.Fatal(err)
	}
	tab, closeTab := chromedp.NewContext(startChromium(t))
	defer closeTab()
	// Before anyone joins, the room list offers to play the room, not to
	// watch it: it runs from its first join.
	base := "http" + strings.TrimPrefix(tn.url, "ws")
	if err := chromedp.Do(tab, chromedp.Navigate(base+"/#/rooms"), chromedp.WaitVisible(chromedp.CSS(`a[href="#/play/`+room.RoomID+`"]`))); err != nil {
		t.Fatalf("the room list: %v", err)
	}
	if n, err := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll('a[href^="#/watch/"]').length`)); err != nil || n != 0 {
		t.Fatalf("the room list offers %d watch links (%v) for a room nobody joined", n, err)
	}
	// One bot sits down (a room runs from its first join), the page
	// watches, then the second bot comes and they play: a game of connect4
	// takes them seconds.
	c4 := func(i int) bots.Behaviour {
		b, err := bots.BehaviourFor("connect4", "", uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	playGame(t, lob, room.RoomID, 0, 1, c4)
	if err := chromedp.Do(tab, chromedp.Navigate(base+"/#/watch/"+room.RoomID)); err != nil {
		t.Fatal(err)
	}
	waitRoom(t, tab, "watching the room", func(d roomDebug) bool { return d.Connected })
	playGame(t, lob, room.RoomID, 1, 2, c4)
	// The match may be over by the time the page is read: the last board stays drawn.
	d := waitRoom(t, tab, "discs on the board", func(d roomDebug) bool { return d.Drawn >= 3 })
	if !d.Spectator || len(d.Players) != 2 || d.Stats["checksumMismatches"] != 0 || d.Stats["resyncs"] != 0 {
		t.Fatalf("watching connect4: %+v; want a spectator of 2 players with 0 mismatches", d)
	}
	if ink, err := chromedp.Run(tab, chromedp.Evaluate[int](`window.tickwire.ink()`)); err != nil || ink < 1000 {
		t.Fatalf("the board has %d non-background pixels (%v); want it drawn", ink, err)
	}
}

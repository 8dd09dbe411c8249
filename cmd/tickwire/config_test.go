package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []configEntry // nil with err set
		err  string        // substring of the error
	}{
		{"empty", "", nil, ""},
		{"comments and blanks", "# a comment\n\n   \n\t# indented comment\n", nil, ""},
		{"plain", "addr = 0.0.0.0:7350\ntick-rate=30\n", []configEntry{{"addr", "0.0.0.0:7350", 1}, {"tick-rate", "30", 2}}, ""},
		{"crlf", "addr = a:1\r\nstore = redis\r\n", []configEntry{{"addr", "a:1", 1}, {"store", "redis", 2}}, ""},
		{"byte-order mark", "\ufeffaddr = a:1\n", []configEntry{{"addr", "a:1", 1}}, ""},
		{"inline comment", "tick-rate = 30   # faster\n", []configEntry{{"tick-rate", "30", 1}}, ""},
		{"hash inside a value", "ticket-secret = abc#def\n", []configEntry{{"ticket-secret", "abc#def", 1}}, ""},
		{"value that is only a comment", "node-id = # none\n", []configEntry{{"node-id", "", 1}}, ""},
		{"empty value", "node-id =\n", []configEntry{{"node-id", "", 1}}, ""},
		{"equals in value", "redis-url = redis://h:1/0?a=b\n", []configEntry{{"redis-url", "redis://h:1/0?a=b", 1}}, ""},
		{"double quotes", `ticket-secret = "  a # b \"c\"\t"  # kept`, []configEntry{{"ticket-secret", "  a # b \"c\"\t", 1}}, ""},
		{"single quotes", `modes = 'arena:16:2m, duel:2:1m' # two`, []configEntry{{"modes", "arena:16:2m, duel:2:1m", 1}}, ""},
		{"single quotes take backslashes as written", `public-url = 'a\nb'`, []configEntry{{"public-url", `a\nb`, 1}}, ""},
		{"empty quotes", `node-id = ""`, []configEntry{{"node-id", "", 1}}, ""},
		{"no equals", "addr 127.0.0.1:1\n", nil, "cfg:1: want flag-name = value"},
		{"dashes kept off", "--addr = x\n", nil, "cfg:1: \"--addr\" is not a flag name"},
		{"upper case key", "# c\nADDR = x\n", nil, "cfg:2: \"ADDR\" is not a flag name"},
		{"empty key", "= x\n", nil, "cfg:1: \"\" is not a flag name"},
		{"unterminated double quote", "\n\nnode-id = \"abc\n", nil, "cfg:3: node-id: unterminated quote"},
		{"unterminated single quote", "node-id = 'abc\n", nil, "cfg:1: node-id: unterminated quote"},
		{"bad escape", `node-id = "\q"`, nil, "cfg:1: node-id: bad quoted value"},
		{"junk after quotes", `node-id = "a" b`, nil, "cfg:1: node-id: unexpected \"b\" after the quoted value"},
		{"duplicate", "addr = a:1\n# again\naddr = b:2\n", nil, "cfg:3: addr is set twice (first on line 1)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseConfig("cfg", []byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("parseConfig(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("parseConfig(%q) = %#v, %v; want %#v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestFormatConfigRoundTrips(t *testing.T) {
	values := []string{"", "plain", " lead", "trail ", "a #b", "#start", `"q`, "'q", "a\nb", "tab\tin", "\x00\xff", "ünïcode", "a=b", "\u00a0nbsp"}
	var in []configEntry
	for i, v := range values {
		in = append(in, configEntry{Name: "k" + string(rune('a'+i)), Value: v, Line: i + 1})
	}
	got, err := parseConfig("f", formatConfig(in))
	if err != nil || !reflect.DeepEqual(got, in) {
		t.Fatalf("round trip:\n%s\n= %#v, %v\nwant %#v", formatConfig(in), got, err, in)
	}
}

// parseServe runs serve's own flag parsing on args.
func parseServe(t *testing.T, args ...string) (serveConfig, error) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var c serveConfig
	serveFlags(fs, &c)
	err := parseFlags(fs, args)
	return c, err
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tickwire.conf")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestServeConfigFilePrecedence(t *testing.T) {
	file := writeConfig(t, `# test config
tick-rate = 30
room-size = 8
min-players = 2
ticket-ttl = 90s
deflate = false
modes = "solo:1, duo:2:1m"
`)
	t.Setenv("TICKWIRE_ROOM_SIZE", "12") // the environment beats the file
	c, err := parseServe(t, "--config", file, "--tick-rate", "40")
	if err != nil {
		t.Fatal(err)
	}
	if c.net.TickRate != 40 { // the command line beats both
		t.Errorf("tick-rate = %d, want 40 from the command line", c.net.TickRate)
	}
	if c.roomSize != 12 {
		t.Errorf("room-size = %d, want 12 from the environment", c.roomSize)
	}
	if c.minPlayers != 2 || c.lobby.ticketTTL != 90*time.Second || c.deflate || c.lobby.modes != "solo:1, duo:2:1m" {
		t.Errorf("from the file: min-players %d, ticket-ttl %v, deflate %v, modes %q", c.minPlayers, c.lobby.ticketTTL, c.deflate, c.lobby.modes)
	}
	if c.addr != "127.0.0.1:7350" {
		t.Errorf("addr = %q, want the default", c.addr)
	}
	if err := c.validate(); err != nil {
		t.Errorf("validate: %v", err)
	}
}

func TestServeConfigFileFromEnvironment(t *testing.T) {
	t.Setenv("TICKWIRE_CONFIG", writeConfig(t, "score-limit = 25\n"))
	c, err := parseServe(t)
	if err != nil || c.scoreLimit != 25 {
		t.Fatalf("score-limit = %d, %v; want 25 from the file TICKWIRE_CONFIG names", c.scoreLimit, err)
	}
}

// A serve config in TICKWIRE_CONFIG (as a container may set) must not reach
// tickwire bots, which has no --addr; its own file is TICKWIRE_BOTS_CONFIG.
func TestBotsConfigFileHasItsOwnVariable(t *testing.T) {
	t.Setenv("TICKWIRE_CONFIG", writeConfig(t, "addr = 0.0.0.0:7350\n"))
	t.Setenv("TICKWIRE_BOTS_CONFIG", writeConfig(t, "rooms = 7\n"))
	fs := flag.NewFlagSet("bots", flag.ContinueOnError)
	var c botsConfig
	botsFlags(fs, &c)
	if err := parseFlags(fs, nil); err != nil || c.rooms != 7 {
		t.Fatalf("bots: rooms = %d, %v; want 7 from TICKWIRE_BOTS_CONFIG and TICKWIRE_CONFIG ignored", c.rooms, err)
	}
}

func TestServeConfigFileErrors(t *testing.T) {
	tests := []struct{ name, text, err string }{
		{"unknown key", "tick-rate = 20\ncolour = red\n", `:2: unknown key "colour"`},
		{"bad value", "\ntick-rate = fast\n", `:2: tick-rate = "fast": parse error`},
		{"duplicate", "addr = a:1\naddr = a:2\n", ":2: addr is set twice (first on line 1)"},
		{"malformed", "addr\n", ":1: want flag-name = value"},
		{"nested config", "config = other.conf\n", ":1: a config file cannot name another"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := writeConfig(t, tc.text)
			_, err := parseServe(t, "--config", file)
			if err == nil || !strings.Contains(err.Error(), file+tc.err) {
				t.Fatalf("error %v, want one with %q", err, file+tc.err)
			}
		})
	}
	if _, err := parseServe(t, "--config", filepath.Join(t.TempDir(), "missing.conf")); err == nil || !strings.Contains(err.Error(), "missing.conf") {
		t.Fatalf("missing file: %v", err)
	}
	// A bad line is an error even for a flag the command line sets.
	file := writeConfig(t, "tick-rate = fast\nnope = 1\n")
	if _, err := parseServe(t, "--config", file, "--tick-rate", "20"); err == nil || !strings.Contains(err.Error(), ":2: unknown key") {
		t.Fatalf("unknown key under a command-line flag: %v", err)
	}
}

func TestConfigExampleParses(t *testing.T) {
	c, err := parseServe(t, "--config", "../../tickwire.conf.example")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
}

// FuzzConfig checks that the parser never panics and that whatever it accepts
// it writes back in a form it reads as the same settings.
func FuzzConfig(f *testing.F) {
	f.Add("addr = 0.0.0.0:7350\n# c\ntick-rate=30 # x\n")
	f.Add(`ticket-secret = "a \"#\" \x00 b"` + "\r\nmodes = 'arena:16'\n")
	f.Add("a =\nb = #\nc = '' # d\n")
	f.Add("= x\nk = \"unterminated\n")
	f.Fuzz(func(t *testing.T, text string) {
		got, err := parseConfig("f", []byte(text))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f:") {
				t.Fatalf("error %q does not name the file and line", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, e := range got {
			if !configKey.MatchString(e.Name) || seen[e.Name] {
				t.Fatalf("accepted key %q (seen before: %v)", e.Name, seen[e.Name])
			}
			seen[e.Name] = true
		}
		out := formatConfig(got)
		again, err := parseConfig("f", out)
		if err != nil {
			t.Fatalf("formatted config does not parse: %v\n%s", err, out)
		}
		if len(again) != len(got) {
			t.Fatalf("round trip: %d entries, want %d\n%s", len(again), len(got), out)
		}
		for i := range got {
			if again[i].Name != got[i].Name || again[i].Value != got[i].Value {
				t.Fatalf("round trip: %q = %q, want %q = %q\n%s", again[i].Name, again[i].Value, got[i].Name, got[i].Value, out)
			}
		}
	})
}

func TestGCPercent(t *testing.T) {
	cases := []struct {
		name, gogc string
		args       []string
		want       int
		set        bool
		err        string
	}{
		{"default", "", nil, defaultGCPercent, true, ""},
		{"flag", "", []string{"--gc-percent", "200"}, 200, true, ""},
		{"GOGC wins over the default", "80", nil, 0, false, ""},
		{"the flag wins over GOGC", "80", []string{"--gc-percent", "30"}, 30, true, ""},
		{"never", "", []string{"--gc-percent", "-1"}, -1, true, ""},
		{"too low", "", []string{"--gc-percent", "5"}, 0, false, "--gc-percent 5: want 10 to 1000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOGC", tc.gogc)
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			var c serveConfig
			serveFlags(fs, &c)
			if err := parseFlags(fs, tc.args); err != nil {
				t.Fatal(err)
			}
			err := c.validate()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("validate: %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, set := gcPercent(fs, &c)
			if got != tc.want || set != tc.set {
				t.Errorf("gcPercent = %d, %v; want %d, %v", got, set, tc.want, tc.set)
			}
		})
	}
}

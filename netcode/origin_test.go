package netcode

import "testing"

func TestOriginPolicy(t *testing.T) {
	allowed := []string{"https://game.example.com", "https://*.play.example.com", "*.example.org", "localhost:8080", "https://10.0.0.7", "[::1]:9000"}
	p, err := parseOrigins(allowed)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		origin string
		want   bool
	}{
		{"", true}, // not a browser
		{"https://game.example.com", true},
		{"HTTPS://Game.Example.com", true},
		{"https://game.example.com:443", true}, // the default port, spelled out
		{"http://game.example.com", false},     // scheme given: must match
		{"https://game.example.com:8443", false},
		{"https://evil.com", false},
		{"https://game.example.com.evil.com", false},
		{"https://a.play.example.com", true},
		{"https://a.b.play.example.com", true},
		{"https://play.example.com", false}, // a wildcard is for subdomains only
		{"http://a.play.example.com", false},
		{"http://x.example.org", true}, // no scheme: any
		{"https://x.example.org", true},
		{"https://example.org", false},
		{"https://x.example.org:444", false},
		{"http://evilexample.org", false},
		{"http://localhost:8080", true},
		{"http://localhost", false},
		{"https://10.0.0.7", true},
		{"https://10.0.0.8", false},
		{"http://[::1]:9000", true},
		{"null", false}, // not listed

		// Hostile: strings that end like an allowed origin, or carry one
		// inside, but are not it.
		{"https://evil.net#.example.org", false},
		{"https://evil.net?.example.org", false},
		{"https://evil.net/.example.org", false},
		{"https://evil.net\\.example.org", false},
		{"https://evil.net%2f.example.org", false},
		{"https://evil.net .example.org", false},
		{"https://evil.net\t.example.org", false},
		{"https://a.example.org@evil.net", false},
		{"https://user@a.example.org", false},
		{"https://a.example.org/", false},
		{"https://a.example.org/path", false},
		{"https://a.example.org:", false},
		{"https://a.example.org:0", false},
		{"https://a.example.org:99999", false},
		{"https://a.example.org:+443", false},
		{"https://a.example.org.", false},
		{"https://a..example.org", false},
		{"https://.example.org", false},
		{"https://-a.example.org", false},
		{"https://a-.example.org", false},
		{"https://*.example.org", false},
		{"https://a.example.org, https://evil.net", false},
		{"https://a.example.org https://evil.net", false},
		{"https://evil.net, https://a.example.org", false},
		{"https://a.exämple.org", false},
		{"https:/a.example.org", false},
		{"a.example.org", false}, // no scheme
		{"://a.example.org", false},
		{"javascript://a.example.org", true}, // any scheme for "*.example.org", as configured
		{"https://[::1]:9000", true},
		{"https://[::1%25eth0]:9000", false},
		{"https://10.0.0.7.example.org", true}, // a name under example.org
		{"https://0x0a.0.0.7", false},
		{"https://evil.play.example.com.", false},
		{"https://evil.net#https://game.example.com", false},
		{"https://game.example.com#", false},
		{"https://game.example.com?", false},
	} {
		if got := p.allows(tc.origin); got != tc.want {
			t.Errorf("allows(%q) = %v, want %v (allowed: %q)", tc.origin, got, tc.want, allowed)
		}
	}
	nullOK, _ := parseOrigins([]string{"null"})
	if !nullOK.allows("null") || nullOK.allows("https://x.com") {
		t.Error(`"null" allows exactly the null origin`)
	}
	for _, list := range [][]string{nil, {}, {"*"}, {"https://x.com", "*"}} {
		p, err := parseOrigins(list)
		if err != nil || !p.allows("https://anything.example") {
			t.Errorf("origins %q: %v; want any origin allowed", list, err)
		}
	}
	for _, bad := range []string{"", "ftp://x.com", "https://x.com/path", "x.*.com", "https://", "*.", "a b.com",
		"https://x.com#", "https://user@x.com", "*.x.com:", "https://x.com:70000", "https://*", "x..com", "*.[::1]"} {
		if _, err := parseOrigins([]string{bad}); err == nil {
			t.Errorf("parseOrigins(%q): no error", bad)
		}
	}
}

// TestSameOrigin: the page this server served may open its socket (with
// --web, whatever the allowlist says) only when its Origin names the very
// host and port the request was sent to.
func TestSameOrigin(t *testing.T) {
	for _, tc := range []struct {
		origin, host string
		want         bool
	}{
		{"http://127.0.0.1:7350", "127.0.0.1:7350", true},
		{"http://localhost:7350", "LOCALHOST:7350", true},
		{"http://game.example.com", "game.example.com", true},
		{"http://game.example.com", "game.example.com:80", true},
		{"https://game.example.com", "game.example.com:443", true},
		{"https://game.example.com", "game.example.com", true}, // TLS ended at a proxy that kept the Host
		{"http://[::1]:7350", "[::1]:7350", true},
		{"http://127.0.0.1:7351", "127.0.0.1:7350", false}, // another port is another origin
		{"http://game.example.com:8080", "game.example.com", false},
		{"https://game.example.com", "game.example.com:80", false},
		{"http://evil.example.com", "game.example.com", false},
		{"http://game.example.com.evil.net", "game.example.com", false},
		{"http://localhost:7350", "127.0.0.1:7350", false}, // a name is not its address
		{"http://127.0.0.1:7350", "localhost:7350", false},
		{"null", "127.0.0.1:7350", false}, // a sandboxed frame or a file: page
		{"", "127.0.0.1:7350", false},
		{"file://", "127.0.0.1:7350", false},
		{"chrome-extension://abc", "abc", false},
		{"http://127.0.0.1:7350", "", false},
		{"http://127.0.0.1:7350/path", "127.0.0.1:7350", false}, // not an origin
	} {
		if got := sameOrigin(tc.origin, tc.host); got != tc.want {
			t.Errorf("sameOrigin(%q, %q) = %v, want %v", tc.origin, tc.host, got, tc.want)
		}
	}
}

package peer

import "testing"

func TestKey(t *testing.T) {
	for _, tc := range []struct {
		remote, key string
	}{
		{"10.1.2.3:5000", "10.1.2.3"},
		{"[::ffff:10.0.0.1]:80", "10.0.0.1"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::"},
		{"[2001:db8:1:2:ffff::1]:443", "2001:db8:1:2::"},
		{"[2001:db8:1:3::1]:443", "2001:db8:1:3::"},
		{"[fe80::1%eth0]:443", "fe80::"},
		{"10.1.2.3", ""}, // no port: not a RemoteAddr
		{"@", ""},
		{"", ""},
	} {
		k, ok := Key(tc.remote, false)
		if got := map[bool]string{true: k.String(), false: ""}[ok]; got != tc.key {
			t.Errorf("Key(%q) = %q, want %q", tc.remote, got, tc.key)
		}
	}
	for _, remote := range []string{"127.0.0.1:80", "127.9.9.9:80", "[::1]:80", "[::ffff:127.0.0.1]:80"} {
		if k, ok := Key(remote, false); ok {
			t.Errorf("loopback %s limited, as %s", remote, k)
		}
		if _, ok := Key(remote, true); !ok {
			t.Errorf("loopback %s not limited when loopback is", remote)
		}
	}
}

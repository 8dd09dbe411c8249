// Package web serves the page tickwire serve shows at /: a live view of the
// node's rooms built on the TypeScript SDK (clients/typescript/page), to
// watch or play a room, quick play, the room list, the leaderboards and an
// operator's monitor. The bundle in dist/ is built by
// clients/typescript/scripts/page.sh and committed, so that the binary needs
// no npm; scripts/test.sh checks that it is current.
package web

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
)

//go:embed dist
var dist embed.FS

// Config is what the page is told about the node that serves it.
type Config struct {
	// Node is the node's id among the nodes (as the lobby's seats name it):
	// a seat on this node is joined over the page's own host, which is the
	// origin the socket allows.
	Node string
	// DemoRoom, if set, returns the id of the demo room the node keeps
	// (--demo-bots), or "" while there is none.
	DemoRoom func() string
}

// pageConfig is the JSON of GET /config.json.
type pageConfig struct {
	Node     string `json:"node"`
	DemoRoom string `json:"demo_room"`
}

// Handler serves the page's files and /config.json. Paths it does not have
// are 404.
func Handler(cfg Config) http.Handler {
	files, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embedded tree always has dist
	}
	static := http.FileServerFS(files)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /config.json", func(w http.ResponseWriter, r *http.Request) {
		c := pageConfig{Node: cfg.Node}
		if cfg.DemoRoom != nil {
			c.DemoRoom = cfg.DemoRoom()
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(c)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		secure(w)
		http.ServeFileFS(w, r, files, "index.html")
	})
	mux.Handle("GET /", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/index.html" {
			http.Redirect(w, r, "/", http.StatusMovedPermanently)
			return
		}
		secure(w)
		static.ServeHTTP(w, r)
	}))
	return mux
}

// secure sets the headers that keep the page to itself: its scripts and
// styles are its own files, nothing may frame it, and it connects only to
// game nodes and lobbies (any host: a seat may be on another node).
func secure(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss: http: https:; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

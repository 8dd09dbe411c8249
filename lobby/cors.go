package lobby

import (
	"net/http"

	"github.com/rs/cors"
)

// corsMaxAge is how long, in seconds, a browser may cache a preflight's answer.
const corsMaxAge = 600

// CORS wraps h so that pages on the origins Config.AllowOrigin admits may
// call it from a browser: preflights (OPTIONS with
// Access-Control-Request-Method) are answered 204 with the allowed methods
// and headers, and every answer to an admitted origin, errors and 429s
// included, carries Access-Control-Allow-Origin and exposes Retry-After. No
// credentials (cookies) are involved: the API authenticates by the
// Authorization header, which a page sets itself. Handler applies it.
func (l *Lobby) CORS(h http.Handler) http.Handler {
	allow := l.cfg.AllowOrigin
	if allow == nil {
		allow = func(string) bool { return true }
	}
	return cors.New(cors.Options{
		AllowOriginFunc: allow,
		AllowedMethods:  []string{http.MethodGet, http.MethodPost, http.MethodDelete},
		AllowedHeaders:  []string{"Content-Type", "Authorization"},
		ExposedHeaders:  []string{"Retry-After"},
		MaxAge:          corsMaxAge,
	}).Handler(h)
}

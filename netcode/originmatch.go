package netcode

// OriginMatcher returns the check the game socket applies to a browser's
// Origin header for an AllowedOrigins list, so that other endpoints of the
// node (the lobby's CORS) admit exactly the pages the socket admits. An
// empty list allows any origin.
func OriginMatcher(allowed []string) (func(origin string) bool, error) {
	p, err := parseOrigins(allowed)
	if err != nil {
		return nil, err
	}
	return p.allows, nil
}

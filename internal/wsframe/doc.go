// Package wsframe holds the WebSocket frame mechanics of RFC 6455 and the
// per-message compression of RFC 7692 that the server (netcode), the headless
// clients (bots) and the raw-socket tests share: frame headers as bytes,
// masking, close payloads and inflating a compressed message.
//
// It is the one copy of these rules. It knows nothing of connections:
// callers hand it bytes and get bytes back, so each piece allocates nothing
// beyond what the caller's buffers need. [AppendHeader], [ParseHeader] and
// [Mask] are on the hot path of every frame read or written.
package wsframe

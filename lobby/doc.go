// Package lobby puts players into rooms and keeps their results: matchmaking
// tickets, a room directory with private join codes, leaderboards with seasons,
// and the signed join tickets the game server demands.
//
// A [Lobby] runs inside every `tickwire serve` process. Its state lives behind
// three stores: leaderboards ([leaderboard.Store]), the matchmaking queue
// ([matchmaker.Queue]) and the room directory ([directory.Directory]). Embedded,
// they are a bbolt file and in-memory structures in one process; across
// several nodes they are one shared Redis, each node hosts the rooms it is
// told to, and the lobby tells a client which node to connect to.
//
// The HTTP JSON API is served under /v1 (see [Lobby.Handler] and the README).
package lobby

// Package lobby will hold matchmaking, the room directory, leaderboards and
// signed join tickets, with an embedded store and a Redis store. Until it lands,
// rooms are joined by id on servers that allow open rooms.
package lobby

// Package proto holds Tickwire's wire contract: the tickwire.v1 .proto schema and,
// in tickwirev1, the Go code generated from it. It holds no logic.
//
// Regenerate with `go generate ./proto/` (needs protoc from Debian's
// protobuf-compiler; protoc-gen-go is pinned by the tool directive in go.mod).
package proto

//go:generate sh -c "protoc --plugin=protoc-gen-go=$(go tool -n protoc-gen-go) --go_out=. --go_opt=module=github.com/tickwire/tickwire/proto -I . tickwire/v1/tickwire.proto"

package dns

// pstate is the packet's writer/parser state (owned by packet.go).
type pstate struct {
}

package dns

// Temporary bodies for the contract in api.go; the dns core replaces them.

import (
	"errors"

	lua "github.com/yuin/gopher-lua"
)

var errTODO = errors.New("dns: not implemented yet")

func registerTypes(L *lua.LState) {}

// NewPacket returns an empty message of capacity maxSize.
func NewPacket(maxSize int) *Packet { panic(errTODO) }

// NameFromWire parses a wire-format name from the start of b.
func NameFromWire(b []byte) ([]byte, error) { return nil, errTODO }

// NameFromText parses presentation text into a Name.
func NameFromText(s string) (*Name, error) { return nil, errTODO }

// String returns the text form of n.
func (n *Name) String() string { return "" }

// CompareNames compares two wire names in canonical DNS order.
func CompareNames(a, b []byte) int { return 0 }

// Add inserts rdata in canonical order, ignoring duplicates.
func (rr *RRSet) Add(rdata []byte) {}

// String is the zone-line text of the set.
func (rr *RRSet) String() string { return "" }

// RDataText returns the presentation text of one RDATA of type t.
func RDataText(t uint16, rdata []byte) string { return "" }

// ParseRData parses "<TYPE> <fields>".
func ParseRData(text string) (uint16, []byte, error) { return 0, nil, errTODO }

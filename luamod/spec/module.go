// Package spec is the busted-compatible test runner behind `ljdns test`.
package spec

import (
	"fmt"
	"os"

	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

// Modules lists the Lua modules this package provides (busted, luassert).
var Modules = []luabind.Module{}

// Main runs `ljdns test ARGS...` with states made by newState and returns
// the exit status.
func Main(args []string, newState func() *lua.LState) int {
	fmt.Fprintln(os.Stderr, "ljdns test: not implemented yet")
	return 1
}

package client

import (
	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

// unavailable is the stub of a transport dnsclient does not have yet.
func unavailable(name string) lua.LGFunction {
	return func(L *lua.LState) int {
		return luabind.Fail(L, "dns.client.%s: not available in this build (dnsclient has no %s transport yet)", name, name)
	}
}

var (
	clientRedundant = unavailable("redundant")
	clientCache     = unavailable("cache")
	clientTSIG      = unavailable("tsig")
	clientValidator = unavailable("validator")
	clientHTTPS     = unavailable("https")
)

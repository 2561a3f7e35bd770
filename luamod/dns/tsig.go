package dns

import lua "github.com/yuin/gopher-lua"

func registerTSIG(L *lua.LState) {}

var tsigMethods = map[string]lua.LGFunction{}

func tsigNew(L *lua.LState) int { return 0 }

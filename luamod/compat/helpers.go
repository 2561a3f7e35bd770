package compat

import (
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

// helpersLoader opens syscall.helpers: multiflags, strflag, octal, split, trim.
func helpersLoader(L *lua.LState) int {
	L.Push(luabind.NewModule(L, "syscall.helpers", helpersExports))
	return 1
}

var helpersExports = map[string]lua.LGFunction{
	"multiflags": func(L *lua.LState) int {
		L.Push(multiflags(L, L.CheckTable(1)))
		return 1
	},
	"strflag": func(L *lua.LState) int {
		t := L.CheckTable(1)
		mt := L.NewTable()
		mt.RawSetString("__index", L.NewFunction(strflagIndex))
		L.SetMetatable(t, mt)
		L.Push(t)
		return 1
	},
	"octal": func(L *lua.LState) int {
		n, err := strconv.ParseUint(strings.TrimSpace(L.CheckString(1)), 8, 32)
		if err != nil {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(lua.LNumber(n))
		return 1
	},
	"trim": func(L *lua.LState) int {
		L.Push(lua.LString(strings.TrimSpace(L.CheckString(1))))
		return 1
	},
	"split": func(L *lua.LState) int { // split(delimiter, text), plain delimiter
		t := L.NewTable()
		for _, s := range strings.Split(L.CheckString(2), L.CheckString(1)) {
			t.Append(lua.LString(s))
		}
		L.Push(t)
		return 1
	},
}

// multiflags makes t indexable by comma-separated, case-insensitive flag
// strings: t['rdonly, creat'] is the OR of t.RDONLY and t.CREAT (cached).
// Numbers pass through, nil and ” give 0, an unknown name raises, and a
// single all-uppercase unknown name gives nil (so presence can be tested),
// as ljsyscall's helpers do.
func multiflags(L *lua.LState, t *lua.LTable) *lua.LTable {
	mt := L.NewTable()
	mt.RawSetString("__index", L.NewFunction(luabind.Guard("multiflags", multiflagsIndex)))
	L.SetMetatable(t, mt)
	return t
}

func multiflagsIndex(L *lua.LState) int {
	t := L.CheckTable(1)
	k := L.Get(2)
	s, ok := k.(lua.LString)
	if !ok {
		if k == lua.LNil {
			L.Push(lua.LNumber(0))
		} else {
			L.Push(k)
		}
		return 1
	}
	f, err := parseFlags(t, string(s))
	if err != "" {
		if err == "absent" {
			return 0
		}
		L.RaiseError("%s", err)
	}
	t.RawSet(k, lua.LNumber(f))
	L.Push(lua.LNumber(f))
	return 1
}

// parseFlags ORs the comma-separated flags of s looked up (upper-cased) in
// t. err is "absent" for a single unknown all-uppercase name.
func parseFlags(t *lua.LTable, s string) (f int32, err string) {
	if strings.TrimSpace(s) == "" {
		return 0, ""
	}
	parts := strings.Split(s, ",")
	for _, p := range parts {
		name := strings.ToUpper(strings.TrimSpace(p))
		if name == "" {
			return 0, "empty flag in '" + s + "'"
		}
		v, ok := t.RawGetString(name).(lua.LNumber)
		if !ok {
			if len(parts) == 1 && s == strings.ToUpper(s) {
				return 0, "absent"
			}
			return 0, "invalid flag " + name
		}
		f |= ToBit(float64(v))
	}
	return f, ""
}

// strflagIndex looks a single flag up case-insensitively (nil when unknown).
func strflagIndex(L *lua.LState) int {
	t := L.CheckTable(1)
	s, ok := L.Get(2).(lua.LString)
	if !ok {
		L.Push(L.Get(2))
		return 1
	}
	v := t.RawGetString(strings.ToUpper(strings.TrimSpace(string(s))))
	if v != lua.LNil {
		t.RawSet(s, v)
	}
	L.Push(v)
	return 1
}

// abiLoader opens syscall.abi.
func abiLoader(L *lua.LState) int {
	t := L.NewTable()
	for k, v := range map[string]lua.LValue{
		"os": lua.LString("linux"), "arch": lua.LString("x64"), "le": lua.LTrue, "be": lua.LFalse,
		"abi64": lua.LTrue, "bsd": lua.LFalse, "rump": lua.LFalse, "host": lua.LString("linux"),
	} {
		t.RawSetString(k, v)
	}
	L.Push(t)
	return 1
}

// splitFlags splits "rdonly, creat" into upper-cased names ["RDONLY", "CREAT"].
func splitFlags(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.ToUpper(strings.TrimSpace(p)); p != "" {
			out = append(out, p)
		}
	}
	return out
}

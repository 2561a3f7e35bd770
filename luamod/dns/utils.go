package dns

import (
	crand "crypto/rand"
	"encoding/binary"
	"net/netip"
	"os"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsmsg"
	"ljdns/luabind"
)

// utilsModule is dns.utils (API.md §2.2).
var utilsModule = luabind.Module{Name: "dns.utils", Load: utilsLoader}

// hashSeed is the per-process random seed of hash32/hash128.
var hashSeed = func() uint32 {
	var b [4]byte
	_, _ = crand.Read(b[:])
	return binary.LittleEndian.Uint32(b[:])
}()

var utilsFuncs = map[string]lua.LGFunction{
	"n16":       utilsN16,
	"n32":       utilsN32,
	"dnamelen":  utilsDnameLen,
	"dnamecmp":  utilsDnameCmp,
	"searchkey": utilsSearchKey,
	"hash32":    utilsHash32,
	"hash128":   utilsHash128,
	"hexdump":   utilsHexdump,
	"addrparse": utilsAddrParse,
	"inaddr":    utilsInAddr,
	"itable":    utilsItable,
	"reverse":   utilsReverse,
	"mtime":     utilsMtime,
	"bucket":    utilsBucket,
	"chdir":     utilsChdir,
	"mkdir":     utilsMkdir,
	"isdir":     utilsIsDir,
	"ls":        utilsLs,
}

func init() {
	utilsFuncs["wire_writer"] = utilsWireCursor(true)
	utilsFuncs["wire_reader"] = utilsWireCursor(false)
}

// utilsLoader opens dns.utils: it seeds math.random from the system
// random source and makes sure table.clear exists.
func utilsLoader(L *lua.LState) int {
	var b [4]byte
	_, _ = crand.Read(b[:])
	if math, ok := L.GetGlobal("math").(*lua.LTable); ok {
		if seed, ok := math.RawGetString("randomseed").(*lua.LFunction); ok {
			L.Push(seed)
			L.Push(lua.LNumber(binary.LittleEndian.Uint32(b[:]) & 0x7FFFFFFF))
			L.Call(1, 0)
		}
	}
	if tbl, ok := L.GetGlobal("table").(*lua.LTable); ok && tbl.RawGetString("clear") == lua.LNil {
		tbl.RawSetString("clear", L.NewFunction(func(L *lua.LState) int {
			t := L.CheckTable(1)
			var keys []lua.LValue
			t.ForEach(func(k, _ lua.LValue) { keys = append(keys, k) })
			for _, k := range keys {
				t.RawSet(k, lua.LNil)
			}
			return 0
		}))
	}
	L.Push(luabind.NewModule(L, "dns.utils", utilsFuncs))
	return 1
}

func utilsN16(L *lua.LState) int {
	x := uint32(int64(luabind.CheckInt(L, 1)))
	L.Push(lua.LNumber((x&0xFF)<<8 | (x>>8)&0xFF))
	return 1
}

func utilsN32(L *lua.LState) int {
	x := uint32(int64(luabind.CheckInt(L, 1)))
	y := x>>24 | (x>>8)&0xFF00 | (x<<8)&0xFF0000 | x<<24
	L.Push(lua.LNumber(int32(y)))
	return 1
}

func utilsDnameLen(L *lua.LState) int {
	L.Push(lua.LNumber(dnsmsg.DnameLen(luabind.CheckBytes(L, 1, 0))))
	return 1
}

func utilsDnameCmp(L *lua.LState) int {
	L.Push(lua.LNumber(dnsmsg.CompareNames(CheckName(L, 1).Wire, CheckName(L, 2).Wire)))
	return 1
}

func utilsSearchKey(L *lua.LState) int {
	key := dnsmsg.SearchKey(CheckName(L, 1).Wire, uint16(luabind.CheckInt(L, 2)))
	if v, ok := luabind.As[*luabind.View](L.Get(3)); ok {
		dst := v.LuaBytes()
		if len(dst) < len(key) || v.ReadOnly {
			L.ArgError(3, "buffer too small")
		}
		copy(dst, key)
	}
	L.Push(lua.LString(key))
	L.Push(lua.LNumber(len(key)))
	return 2
}

func utilsHash32(L *lua.LState) int {
	L.Push(lua.LNumber(Murmur3x86_32(luabind.CheckBytes(L, 1, 2), hashSeed)))
	return 1
}

func utilsHash128(L *lua.LState) int {
	h1, h2 := Murmur3x64_128(luabind.CheckBytes(L, 1, 2), hashSeed)
	v, ok := luabind.As[*luabind.View](L.Get(3))
	if !ok || v.ReadOnly || len(v.LuaBytes()) < 16 {
		v = luabind.NewBuffer(16)
	}
	b := v.LuaBytes()
	binary.LittleEndian.PutUint64(b, h1)
	binary.LittleEndian.PutUint64(b[8:], h2)
	luabind.PushView(L, v)
	return 1
}

// utilsHexdump writes the dump through io.write and returns nothing.
func utilsHexdump(L *lua.LState) int {
	if L.Get(1) == lua.LNil {
		L.Push(lua.LNil)
		return 1
	}
	s := dnsmsg.Hexdump(luabind.CheckBytes(L, 1, 2))
	if io, ok := L.GetGlobal("io").(*lua.LTable); ok {
		if w, ok := io.RawGetString("write").(*lua.LFunction); ok {
			L.Push(w)
			L.Push(lua.LString(s))
			L.Call(1, 0)
			return 0
		}
	}
	os.Stdout.WriteString(s)
	return 0
}

func utilsAddrParse(L *lua.LState) int {
	s := L.CheckString(1)
	host, port := s, 53
	if i := strings.LastIndexByte(s, '#'); i >= 0 {
		host = s[:i]
		if p, err := strconv.Atoi(s[i+1:]); err == nil {
			port = p
		}
	}
	L.Push(lua.LString(host))
	L.Push(lua.LNumber(port))
	return 2
}

func utilsInAddr(L *lua.LState) int {
	b, ok := luabind.ToBytes(L.Get(1))
	if !ok {
		L.Push(lua.LNil)
		return 1
	}
	port := luabind.OptInt(L, 2, 0)
	n := luabind.OptInt(L, 3, len(b))
	if n > len(b) {
		L.Push(lua.LNil)
		return 1
	}
	var a netip.Addr
	switch n {
	case 4:
		a = netip.AddrFrom4([4]byte(b[:4]))
	case 16:
		a = netip.AddrFrom16([16]byte(b[:16]))
	default:
		L.Push(lua.LNil)
		return 1
	}
	luabind.PushSockaddr(L, &luabind.Sockaddr{Addr: netip.AddrPortFrom(a, uint16(port))})
	return 1
}

func utilsItable(L *lua.LState) int {
	t := L.CheckTable(1)
	lower := luabind.Truthy(L, 2)
	out := L.NewTable()
	t.ForEach(func(k, v lua.LValue) {
		if s, ok := k.(lua.LString); ok && lower {
			k = lua.LString(strings.ToLower(string(s)))
		}
		out.RawSet(v, k)
	})
	L.Push(out)
	return 1
}

func utilsReverse(L *lua.LState) int {
	t := L.CheckTable(1)
	n := t.Len()
	for i, j := 1, n; i < j; i, j = i+1, j-1 {
		a, b := t.RawGetInt(i), t.RawGetInt(j)
		t.RawSetInt(i, b)
		t.RawSetInt(j, a)
	}
	return 0
}

func utilsMtime(L *lua.LState) int {
	st, err := os.Stat(L.CheckString(1))
	if err != nil {
		L.Push(lua.LNumber(0))
		return 1
	}
	L.Push(lua.LNumber(st.ModTime().Unix()))
	return 1
}

var buckets = []float64{1, 10, 50, 100, 250, 500, 1000, 1500}

func utilsBucket(L *lua.LState) int {
	ms := float64(L.CheckNumber(1))
	for _, b := range buckets {
		if b >= ms {
			L.Push(lua.LNumber(b))
			return 1
		}
	}
	L.Push(lua.LNumber(3000))
	return 1
}

func utilsChdir(L *lua.LState) int {
	if err := os.Chdir(L.CheckString(1)); err != nil {
		return luabind.FailErr(L, "", err)
	}
	return luabind.Bool(L, true)
}

// parseMode accepts a number, an octal string ("0755") or nil (0755).
func parseMode(v lua.LValue) (os.FileMode, bool) {
	switch m := v.(type) {
	case lua.LNumber:
		return os.FileMode(int(m)), true
	case lua.LString:
		if n, err := strconv.ParseUint(string(m), 8, 32); err == nil {
			return os.FileMode(n), true
		}
		return 0, false
	case *lua.LNilType:
		return 0o755, true
	}
	return 0, false
}

func utilsMkdir(L *lua.LState) int {
	mode, ok := parseMode(L.Get(2))
	if !ok {
		L.ArgError(2, "mode must be a number or an octal string")
	}
	if err := os.Mkdir(L.CheckString(1), mode); err != nil {
		return luabind.FailErr(L, "", err)
	}
	return luabind.Bool(L, true)
}

func utilsIsDir(L *lua.LState) int {
	st, err := os.Lstat(L.CheckString(1))
	if err != nil {
		return luabind.FailErr(L, "", err)
	}
	return luabind.Bool(L, st.IsDir())
}

func utilsLs(L *lua.LState) int {
	ents, err := os.ReadDir(L.CheckString(1))
	t := L.NewTable()
	if err == nil {
		for _, e := range ents {
			t.Append(lua.LString(e.Name()))
		}
	}
	L.Push(t)
	return 1
}

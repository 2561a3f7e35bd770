package host

import (
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

func TestRewriteEscapes(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"hex", `"\x41\x7f"`, `"\065\127"`},
		{"hex upper", `'\xFF'`, `'\255'`},
		{"z skips whitespace", "\"a\\z\n   b\"", `"ab"`},
		{"unicode", `"\u{48}\u{20AC}"`, `"\072\226\130\172"`},
		{"plain escapes kept", `"\n\\x41\""`, `"\n\\x41\""`},
		{"long string untouched", `[[\x41]]`, `[[\x41]]`},
		{"long string level", `[==[\x41]]\x41]==]`, `[==[\x41]]\x41]==]`},
		{"comment untouched", "-- \"\\x41\"\nx=1", "-- \"\\x41\"\nx=1"},
		{"long comment untouched", "--[[ '\\x41' ]] y='\\x42'", "--[[ '\\x41' ]] y='\\066'"},
		{"decimal follows", `"\x411"`, `"\0651"`},
		{"no backslash", `print("hi")`, `print("hi")`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := rewriteEscapes(c.in); got != c.want {
				t.Fatalf("rewriteEscapes(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

// newTestState returns a host state with a "wire" userdata type whose
// __eq compares its string with a string operand (like dns.dname).
func newTestState(t testing.TB) *lua.LState {
	L := New(Options{})
	luabind.RegisterType(L, luabind.TypeSpec{Name: "test.wire", Meta: map[string]lua.LGFunction{
		"__eq": func(L *lua.LState) int {
			str := func(v lua.LValue) string {
				if s, ok := luabind.As[string](v); ok {
					return s
				}
				return v.String()
			}
			return luabind.Bool(L, str(L.Get(1)) == str(L.Get(2)))
		},
	}})
	L.SetGlobal("wire", L.NewFunction(func(L *lua.LState) int {
		luabind.Push(L, "test.wire", L.CheckString(1))
		return 1
	}))
	L.SetGlobal("gopanic", L.NewFunction(luabind.Guard("test.gopanic", func(L *lua.LState) int {
		var m map[string]int
		m["x"] = 1 // nil map write: a Go panic
		return 0
	})))
	return L
}

func run(t *testing.T, L *lua.LState, src string) error {
	t.Helper()
	fn, err := LoadString(L, src, "test")
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return Call(L, fn)
}

func TestHostBehaviour(t *testing.T) {
	cases := []struct{ name, src string }{
		{"userdata == string", `local w = wire('\7example') assert(w == '\7example') assert('\7example' == w) assert(w ~= 'x') assert(not (w == nil)) assert(w ~= nil)`},
		{"userdata == userdata", `assert(wire('a') == wire('a')) assert(wire('a') ~= wire('b'))`},
		{"plain equality untouched", `local a, b = 1, 1.0 assert(a == b) assert('x' == 'x') assert({} ~= {}) local t = {} assert(t == t)`},
		{"equality in nested functions", `local function f(x) return function() return x == '\1' end end assert(f(wire('\1'))())`},
		{"tonumber exponent", `assert(tonumber('1e1') == 10) assert(tonumber(' 0x10 ') == 16) assert(tonumber('z') == nil) assert(tonumber('ff', 16) == 255) assert(tonumber('inf') == nil)`},
		{"math.huge", `assert(math.huge == 1/0) assert(math.huge > 1e308)`},
		{"number text", `assert(tostring(2^53) == '9.007199254741e+15') assert(tostring(1/0) == 'inf') assert(tostring(-1/0) == '-inf') assert(tostring(-0) == '-0') assert(tostring(0.1) == '0.1') assert(tostring(1e15) == '1e+15') assert(tostring(123) == '123')`},
		{"io.write numbers", `local f = io.tmpfile() f:write(1/0, ' ', 2^53, ' ', 0.1 + 0.2) f:seek('set') assert(f:read('*a') == 'inf 9.007199254741e+15 0.3') f:close()`},
		{"format %s and %d", `assert(string.format('%s|%s|%d|%5.1f', nil, 1/0, 3.9, 2.25) == 'nil|inf|3|  2.2') assert(('%x'):format(255) == 'ff')`},
		{"format %s __tostring", `local t = setmetatable({}, {__tostring = function() return 'T!' end}) assert(string.format('%s', t) == 'T!') assert(tostring(t) == 'T!')`},
		{"assert non-string message", `local ok, e = pcall(assert, false, {code = 7}) assert(not ok and e.code == 7) assert(select('#', assert(1, 2, 3)) == 3)`},
		{"string.rep separator", `assert(string.rep('ab', 3, ',') == 'ab,ab,ab') assert(string.rep('x', 0, ',') == '')`},
		{"frontier pattern", `assert(select(2, string.find('THE (quick) fox', '%f[%a]%a+')) == 3) assert(('hello world'):gsub('%f[%w]%w+', string.upper) == 'HELLO WORLD')`},
		{"table.new and clear", `local t = table.new(10, 2) t[1] = 1 t.x = 2 table.clear(t) assert(next(t) == nil)`},
		{"unpack 100k", `local t = {} for i = 1, 100000 do t[i] = i end assert(select('#', unpack(t)) == 100000)`},
		{"__pairs/__ipairs", `local t = setmetatable({}, {__ipairs = function(t) return function(_, i) if i < 2 then return i + 1, 'v' end end, t, -1 end}) local n = 0 for i in ipairs(t) do n = n + 1 end assert(n == 3)`},
		{"next key 0 first", `local t = {[0] = 'z', 'a', 'b'} local k = next(t) assert(k == 0) assert(next(t, 0) == 1) local n = 0 for k in next, t, 0 do n = n + 1 end assert(n == 2)`},
		{"yield through pcall", `local co = coroutine.create(function() local ok, v = pcall(function() return coroutine.yield(1) + 1 end) return ok, v end) local _, a = coroutine.resume(co) assert(a == 1) local _, ok, v = coroutine.resume(co, 41) assert(ok == true and v == 42)`},
		{"error through yieldable pcall", `local co = coroutine.create(function() return pcall(function() coroutine.yield() error('boom', 0) end) end) coroutine.resume(co) local _, ok, e = coroutine.resume(co) assert(ok == false and e == 'boom')`},
		{"xpcall handler in coroutine", `local co = coroutine.wrap(function() return xpcall(function() coroutine.yield() error('x', 0) end, function(e) return 'h:' .. e end) end) co() local ok, e = co() assert(not ok and e == 'h:x')`},
		{"yield from metamethod is an error", `local co = coroutine.create(function() local t = setmetatable({}, {__index = function() return coroutine.yield() end}) return t.x end) local ok, e = coroutine.resume(co) assert(not ok and e:find('yield across'))`},
		{"yield under pcall in the main thread", `local ok, e = pcall(coroutine.yield) assert(not ok and e:find('outside'))`},
		{"shared local survives a caught error", `local s = 1 local function set(v) s = v end pcall(error, 'x') set(2) assert(s == 2, 'upvalue closed by pcall')`},
		{"resume with fewer values than the yield wants", `local co = coroutine.create(function() local a, b, c = coroutine.yield() return a, b, c end) coroutine.resume(co) local ok, a, b, c = coroutine.resume(co, 1) assert(ok and a == 1 and b == nil and c == nil) print(a, b, c)`},
		{"wrap with fewer values than the yield wants", `local f = coroutine.wrap(function() local a, b = coroutine.yield() return tostring(a) .. tostring(b) end) f() assert(f('x') == 'xnil')`},
		{"short for-in list", `local n = 0 for k, v in next, {a = 1} do n = n + v end assert(n == 1)`},
		{"go panic becomes lua error", `local ok, e = pcall(gopanic) assert(not ok) assert(e:find('test.gopanic: internal error'), e)`},
		{"loadstring uses host loader", `local f = assert(loadstring("return '\\x41' == 'A'")) assert(f() == true)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			L := newTestState(t)
			defer L.Close()
			if err := run(t, L, c.src); err != nil {
				t.Fatal(FormatError(err))
			}
		})
	}
}

func TestYieldFromNestedLoopFails(t *testing.T) {
	L := newTestState(t)
	defer L.Close()
	err := run(t, L, `local co = coroutine.create(function() table.sort({3,2,1}, function(a, b) coroutine.yield() return a < b end) end) local ok, e = coroutine.resume(co) assert(not ok, 'yield from sort comparator must fail') return e`)
	if err != nil {
		t.Fatal(FormatError(err))
	}
	if got := L.Get(-1).String(); !strings.Contains(got, "yield across") {
		t.Fatalf("error = %q, want a yield-across message", got)
	}
}

const benchChunk = `
local dns = {}
local function parse(s)
	local t = {}
	for w in s:gmatch('%S+') do t[#t + 1] = w end
	return t
end
function dns.check(a, b)
	if a == b then return true end
	if a ~= nil and b ~= nil and tostring(a) == tostring(b) then return true end
	return "\x41\x42\x43" == a
end
local x = 0
for i = 1, 10 do x = x + i * 2 end
return parse, dns, x
`

// BenchmarkLoadChunk compares the host loader (escape rewrite + equality
// pass) with stock gopher-lua's loader, per KB of source.
func BenchmarkLoadChunk(b *testing.B) {
	src := strings.Repeat("do\n"+benchChunk+"end\n", 1024/len(benchChunk)+1)
	b.Run("host", func(b *testing.B) {
		L := New(Options{})
		defer L.Close()
		b.SetBytes(int64(len(src)))
		for i := 0; i < b.N; i++ {
			if _, err := LoadString(L, src, "bench"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stock", func(b *testing.B) {
		L := lua.NewState()
		defer L.Close()
		b.SetBytes(int64(len(src)))
		for i := 0; i < b.N; i++ {
			if _, err := L.LoadString(src); err != nil {
				b.Fatal(err)
			}
		}
	})
}

const eqLoop = `
local a, b, s = ..., 'x', 0
for i = 1, 1000 do
	if a == b then s = s + 1 end
	if a ~= b then s = s - 1 end
end
return s
`

// BenchmarkEqualityLoop measures 2000 rewritten comparisons per op
// against stock gopher-lua's inline EQ.
func BenchmarkEqualityLoop(b *testing.B) {
	b.Run("host", func(b *testing.B) {
		L := New(Options{})
		defer L.Close()
		fn, err := LoadString(L, eqLoop, "bench")
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < b.N; i++ {
			L.Push(fn)
			L.Push(lua.LString("y"))
			L.Call(1, 1)
			L.Pop(1)
		}
	})
	b.Run("stock", func(b *testing.B) {
		L := lua.NewState()
		defer L.Close()
		fn, err := L.LoadString(eqLoop)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < b.N; i++ {
			L.Push(fn)
			L.Push(lua.LString("y"))
			L.Call(1, 1)
			L.Pop(1)
		}
	})
}

const pcallLoop = `
local f = function(x) return x end
for i = 1, 1000 do pcall(f, i) end
`

// BenchmarkPcall measures 1000 pcalls per op: the host's coroutine-based
// pcall (pooled helpers) against stock gopher-lua's.
func BenchmarkPcall(b *testing.B) {
	for _, c := range []struct {
		name     string
		newState func() *lua.LState
	}{{"host", func() *lua.LState { return New(Options{}) }}, {"stock", func() *lua.LState { return lua.NewState() }}} {
		b.Run(c.name, func(b *testing.B) {
			L := c.newState()
			defer L.Close()
			fn, err := L.LoadString(pcallLoop)
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < b.N; i++ {
				L.Push(fn)
				L.Call(0, 0)
			}
		})
	}
}

// TestPatternsMatchStock checks the host pattern engine against stock
// gopher-lua's on patterns both support.
func TestPatternsMatchStock(t *testing.T) {
	subjects := []string{"hello world", "key = value; x=1", "  (nested (parens)) end", "a.b.c", "2001:db8::1", "\x00bin\xff", "aaa", "example.com. 3600 IN A 1.2.3.4"}
	patterns := []string{"%a+", "%s*(%w+)%s*=%s*(%w+)", "%b()", "(%w+)%.(%w+)", "[%x:]+", "a-b", "a*", ".-$", "^$", "(a)(a)", "%d+%.%d+", "[^%s]+", "()ll()", "%S+%s+(%d+)", "([%a.]+)%s", "a?b?c?", "[a-c]+", "%%", "%z", "(h)(e)", "%1", "x*$", "%u", "[%]]"}
	script := `
local out = {}
for _, s in ipairs(S) do
	for _, p in ipairs(P) do
		local function join(...)
			local t = {}
			if select('#', ...) == 0 then return 'nil' end -- stock match returns nothing, Lua 5.1 nil
			for i = 1, select('#', ...) do t[i] = tostring((select(i, ...))) end
			return table.concat(t, ',')
		end
		local ok, a = pcall(function() return join(string.find(s, p)) .. '|' .. join(string.match(s, p)) end)
		local ok2, g = pcall(string.gsub, s, p, '<%0>')
		local n = 0
		local ok3 = pcall(function() for w in string.gmatch(s, p) do n = n + 1 if n > 100 then break end end end)
		out[#out + 1] = tostring(ok) .. (ok and a or '') .. '#' .. tostring(ok2) .. (ok2 and g or '') .. '#' .. tostring(ok3) .. n
	end
end
return table.concat(out, '\n')
`
	eval := func(L *lua.LState) string {
		s, p := L.NewTable(), L.NewTable()
		for _, x := range subjects {
			s.Append(lua.LString(x))
		}
		for _, x := range patterns {
			p.Append(lua.LString(x))
		}
		L.SetGlobal("S", s)
		L.SetGlobal("P", p)
		if err := L.DoString(script); err != nil {
			t.Fatal(err)
		}
		return L.Get(-1).String()
	}
	host := New(Options{})
	defer host.Close()
	stock := lua.NewState()
	defer stock.Close()
	got, want := strings.Split(eval(host), "\n"), strings.Split(eval(stock), "\n")
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("subject %q pattern %q:\n host  %q\n stock %q", subjects[i/len(patterns)], patterns[i%len(patterns)], got[i], want[i])
		}
	}
}

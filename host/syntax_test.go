package host

import (
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// luajitSyntaxCases are chunks that do not compile, with the message
// LuaJIT 2.1 gives for loadstring(src, '=s'), printed by luajit itself.
// Three of its refusals are not reproduced, since gopher-lua takes the
// chunk and the checker only runs when it does not: "x = 1e+" (malformed
// number), a call's "(" on a new line (ambiguous syntax) and a lone ";".
var luajitSyntaxCases = []struct{ src, want string }{
	{"x", "s:1: '=' expected near '<eof>'"},
	{"f() = 1", "s:1: unexpected symbol near '='"},
	{"x y", "s:1: '=' expected near 'y'"},
	{"local", "s:1: '<name>' expected near '<eof>'"},
	{"local 3", "s:1: '<name>' expected near '3'"},
	{"local x =", "s:1: unexpected symbol near '<eof>'"},
	{"function", "s:1: '<name>' expected near '<eof>'"},
	{"function f", "s:1: '(' expected near '<eof>'"},
	{"function f(", "s:1: <name> or '...' expected near '<eof>'"},
	{"function f(a,", "s:1: <name> or '...' expected near '<eof>'"},
	{"function f(a b)", "s:1: ')' expected near 'b'"},
	{"function f(...) return ... end x = ...", "nil"},
	{"if", "s:1: unexpected symbol near '<eof>'"},
	{"if x", "s:1: 'then' expected near '<eof>'"},
	{"if x then", "s:1: 'end' expected near '<eof>'"},
	{"if x then else", "s:1: 'end' expected near '<eof>'"},
	{"if x then elseif", "s:1: unexpected symbol near '<eof>'"},
	{"while x", "s:1: 'do' expected near '<eof>'"},
	{"while x do", "s:1: 'end' expected near '<eof>'"},
	{"repeat", "s:1: 'until' expected near '<eof>'"},
	{"repeat until", "s:1: unexpected symbol near '<eof>'"},
	{"for", "s:1: '<name>' expected near '<eof>'"},
	{"for i", "s:1: '=' or 'in' expected near '<eof>'"},
	{"for i =", "s:1: unexpected symbol near '<eof>'"},
	{"for i = 1", "s:1: ',' expected near '<eof>'"},
	{"for i = 1,", "s:1: unexpected symbol near '<eof>'"},
	{"for i = 1, 2", "s:1: 'do' expected near '<eof>'"},
	{"for i = 1, 2 do", "s:1: 'end' expected near '<eof>'"},
	{"for a, b", "s:1: 'in' expected near '<eof>'"},
	{"for a, b in", "s:1: unexpected symbol near '<eof>'"},
	{"for a, b in x", "s:1: 'do' expected near '<eof>'"},
	{"for a, b in x do", "s:1: 'end' expected near '<eof>'"},
	{"return 1 2", "s:1: '<eof>' expected near '2'"},
	{"return return", "s:1: unexpected symbol near 'return'"},
	{"break", "s:1: no loop to break"},
	{"do break end", "s:1: no loop to break"},
	{"while 1 do break x = 1 end", "s:1: 'end' expected near 'x'"},
	{"x = {", "s:1: unexpected symbol near '<eof>'"},
	{"x = {1,", "s:1: unexpected symbol near '<eof>'"},
	{"x = {1 2}", "s:1: '}' expected near '2'"},
	{"x = {[1]", "s:1: '=' expected near '<eof>'"},
	{"x = {[1] = }", "s:1: unexpected symbol near '}'"},
	{"x = (", "s:1: unexpected symbol near '<eof>'"},
	{"x = (1", "s:1: ')' expected near '<eof>'"},
	{"x.", "s:1: '<name>' expected near '<eof>'"},
	{"x:", "s:1: '<name>' expected near '<eof>'"},
	{"x:y", "s:1: function arguments expected near '<eof>'"},
	{"x[", "s:1: unexpected symbol near '<eof>'"},
	{"x[1", "s:1: ']' expected near '<eof>'"},
	{"a.b:c", "s:1: function arguments expected near '<eof>'"},
	{"x = 1 +", "s:1: unexpected symbol near '<eof>'"},
	{"x = not", "s:1: unexpected symbol near '<eof>'"},
	{"x = #", "s:1: unexpected symbol near '<eof>'"},
	{"x = -", "s:1: unexpected symbol near '<eof>'"},
	{"x = 1 .. ", "s:1: unexpected symbol near '<eof>'"},
	{"x = 3x", "s:1: malformed number near '3x'"},
	{"x = 0x", "s:1: malformed number near '0x'"},
	{"x = 1..2", "s:1: malformed number near '1..2'"},
	{"x = 1.2.3", "s:1: malformed number near '1.2.3'"},
	{"x = 08", "nil"},
	{"x = 'abc", "s:1: unfinished string near '<eof>'"},
	{"x = \"a\\qb\"", "s:1: invalid escape sequence near '\"a'"},
	{"x = \"\\300\"", "s:1: invalid escape sequence near '\"'"},
	{"x = \"\\x4\"", "s:1: invalid escape sequence near '\"'"},
	{"x = [==[ abc", "s:1: unfinished long string near '<eof>'"},
	{"x = [=", "s:1: invalid long string delimiter near '[='"},
	{"--[[ abc", "s:1: unfinished long comment near '<eof>'"},
	{"x = @", "s:1: unexpected symbol near '@'"},
	{"x = $", "s:1: unexpected symbol near '$'"},
	{"x = ~", "s:1: unexpected symbol near '~'"},
	{"x = a ~ b", "s:1: unexpected symbol near '~'"},
	{"x = a != b", "s:1: unexpected symbol near '!'"},
	{"goto", "s:1: '=' expected near '<eof>'"},
	{"goto 3", "s:1: '=' expected near '3'"},
	{"goto x", "s:1: undefined label 'x'"},
	{"::x", "s:1: '::' expected near '<eof>'"},
	{":: x", "s:1: '::' expected near '<eof>'"},
	{"::x:: ::x::", "s:1: duplicate label 'x'"},
	{"x = function", "s:1: '(' expected near '<eof>'"},
	{"x = function(", "s:1: <name> or '...' expected near '<eof>'"},
	{"x = function() return", "s:1: 'end' expected near '<eof>'"},
	{"local function", "s:1: '<name>' expected near '<eof>'"},
	{"local function 3", "s:1: '<name>' expected near '3'"},
	{"local t = {} t\n.x = 1", "nil"},
	{"x = \"abc\ndef\"", "s:1: unfinished string near '\"abc'"},
	{"x = 1 y = 2 z", "s:1: '=' expected near '<eof>'"},
	{"if x then return 1 x = 2 end", "s:1: 'end' expected near 'x'"},
	{"return 1; x = 2", "s:1: '<eof>' expected near 'x'"},
	{"x = ;", "s:1: unexpected symbol near ';'"},
	{"local a <const> = 1", "s:1: unexpected symbol near '<'"},
	{"x = a and", "s:1: unexpected symbol near '<eof>'"},
	{"x = [[\n\n", "s:3: unfinished long string near '<eof>'"},
	{"x = 1\n\n\ny = }", "s:4: unexpected symbol near '}'"},
	{"a, b", "s:1: '=' expected near '<eof>'"},
	{"a, b =", "s:1: unexpected symbol near '<eof>'"},
	{"a, f() = 1, 2", "s:1: syntax error near '='"},
	{"f{", "s:1: unexpected symbol near '<eof>'"},
	{"f\"x\"", "nil"},
	{"f'x", "s:1: unfinished string near '<eof>'"},
	{"x = ...", "nil"},
	{"function f() x = ... end", "s:1: cannot use '...' outside a vararg function near '...'"},
	{"local function f(a, ...) return ... end", "nil"},
	{"for i = 1, 2 do local x = ... end", "nil"},
	{"x = function(...) return function() return ... end end", "s:1: cannot use '...' outside a vararg function near '...'"},
}

func TestLuaJITSyntaxErrors(t *testing.T) {
	L := New(Options{})
	defer L.Close()
	load := L.GetGlobal("loadstring")
	for _, c := range luajitSyntaxCases {
		t.Run(c.src, func(t *testing.T) {
			L.Push(load)
			L.Push(lua.LString(c.src))
			L.Push(lua.LString("=s"))
			L.Call(2, 2)
			got := L.Get(-1).String()
			L.Pop(2)
			if got != c.want {
				t.Fatalf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

// TestLuaJITChunkNames checks the chunk names of loadstring in messages.
func TestLuaJITChunkNames(t *testing.T) {
	cases := []struct{ src, chunkname, want string }{
		{"x = = 1", "", "[string \"x = = 1\"]:1: unexpected symbol near '='"},
		{"x = = 1\nnext line", "", "[string \"x = = 1...\"]:1: unexpected symbol near '='"},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa = = 1", "", "[string \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"]:1: unexpected symbol near '='"},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa = = 1", "", "[string \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa = = 1\"]:1: unexpected symbol near '='"},
		{"x = = 1", "@" + strings.Repeat("d/", 40) + "f.lua", ".../d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/f.lua:1: unexpected symbol near '='"},
	}
	L := New(Options{})
	defer L.Close()
	for _, c := range cases {
		args := []lua.LValue{lua.LString(c.src)}
		if c.chunkname != "" {
			args = append(args, lua.LString(c.chunkname))
		}
		if err := L.CallByParam(lua.P{Fn: L.GetGlobal("loadstring"), NRet: 2, Protect: true}, args...); err != nil {
			t.Fatal(err)
		}
		if got := L.Get(-1).String(); got != c.want {
			t.Errorf("loadstring(%q, %q): got %q, want %q", c.src, c.chunkname, got, c.want)
		}
		L.Pop(2)
	}
}

// TestLuaJITSyntaxLines checks lines, "to close" and goto/label errors
// over several lines, with LuaJIT's messages for loadstring(src, '@f.lua').
func TestLuaJITSyntaxLines(t *testing.T) {
	cases := []struct{ src, want string }{
		{"local function f()\n return 1\n", "f.lua:3: 'end' expected (to close 'function' at line 1) near '<eof>'"},
		{"local x = 1\nlocal y = \"abc\n", "f.lua:2: unfinished string near '\"abc'"},
		{"x = 1\n\n\ny = }", "f.lua:4: unexpected symbol near '}'"},
		{"for i=1,2 do\n break\n x = 1 end", "f.lua:3: 'end' expected (to close 'for' at line 1) near 'x'"},
		{"do\n goto x\n local y\n ::x::\n y = 1 end", "f.lua:2: <goto x> jumps into the scope of local 'y'"},
		{"do\n goto x\n local y\n ::x::\n end", "nil"},
		{"while x do\n  if y then\n    goto done\n  end\nend", "f.lua:3: undefined label 'done'"},
		{"goto skip\nlocal a = 1\n::skip::\nprint(a)", "f.lua:1: <goto skip> jumps into the scope of local 'a'"},
		{"x = [[\nabc\n", "f.lua:3: unfinished long string near '<eof>'"},
		{"if x then\n\n", "f.lua:3: 'end' expected (to close 'if' at line 1) near '<eof>'"},
		{"f(\n1,\n", "f.lua:3: unexpected symbol near '<eof>'"},
		{"t = {\n a = 1,\n b = 2\n", "f.lua:4: '}' expected (to close '{' at line 1) near '<eof>'"},
		{"x = \"\\z\n  \" y", "f.lua:2: '=' expected near '<eof>'"},
		{"print(\"a\\\nb\") y", "f.lua:2: '=' expected near '<eof>'"},
	}
	L := New(Options{})
	defer L.Close()
	for _, c := range cases {
		if err := L.CallByParam(lua.P{Fn: L.GetGlobal("loadstring"), NRet: 2, Protect: true}, lua.LString(c.src), lua.LString("@f.lua")); err != nil {
			t.Fatal(err)
		}
		if got := L.Get(-1).String(); got != c.want {
			t.Errorf("loadstring(%q): got %q, want %q", c.src, got, c.want)
		}
		L.Pop(2)
	}
}

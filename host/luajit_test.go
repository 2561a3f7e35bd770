package host

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// luajitCases are chunks that return a string, with what LuaJIT 2.1
// (Debian's luajit 2.1.0-beta3 on glibc 2.36) returns for them: each want
// was printed by `luajit -e 'io.write(assert(loadfile("c.lua"))())'`.
var luajitCases = []struct{ name, src, want string }{
	{"lower keeps high bytes", `return table.concat({('A\200\255Z\0'):lower():byte(1, -1)}, ',')`, "97,200,255,122,0"},
	{"upper keeps high bytes", `return table.concat({('a\200\233z'):upper():byte(1, -1)}, ',')`, "65,200,233,90"},
	{"lower of UTF-8", `return ('ÉCOLE École'):lower()`, "\xc3\x89cole \xc3\x89cole"},
	{"date %c", `return os.date('!%c', 0) .. '|' .. os.date('!%c', 1e9)`, "Thu Jan  1 00:00:00 1970|Sun Sep  9 01:46:40 2001"},
	{"date C99 conversions", `return os.date('!%a|%A|%b|%B|%C|%d|%D|%e|%F|%g|%G|%h|%H|%I|%j|%m|%M|%n|%p|%r|%R|%S|%t|%T|%u|%U|%V|%w|%W|%x|%X|%y|%Y|%z|%Z|%%', 86400*45+3600*13+61)`, "Sun|Sunday|Feb|February|19|15|02/15/70|15|1970-02-15|70|1970|Feb|13|01|046|02|01|\n|PM|01:01:01 PM|13:01|01|\t|13:01:01|7|07|07|0|06|02/15/70|13:01:01|70|1970|+0000|GMT|%"},
	{"date E and O modifiers", `return os.date('!%Ec|%EC|%Ex|%EX|%Ey|%EY|%Od|%Oe|%OH|%OI|%Om|%OM|%OS|%Ou|%OU|%OV|%Ow|%OW|%Oy', 1e9)`, "Sun Sep  9 01:46:40 2001|20|09/09/01|01:46:40|01|2001|09| 9|01|01|09|46|40|7|36|36|0|36|01"},
	{"date GNU flags and widths", `return os.date('!%-d|%_d|%5d|%^a|%#a|%#p|%P|%10A|%010A|%3C|%k|%l|%s|%#Z|%5z|%_z|%^c', 1e9)`, "9| 9|00009|SUN|SUN|am|am|    Sunday|0000Sunday|020| 1| 1|1000000000|gmt|    +00000|+   0|SUN SEP  9 01:46:40 2001"},
	{"date unknown conversions", `return os.date('!%Q|%5Q|%Ea|%+Y|%E%|%5%|%', 0)`, "%Q|  %5Q|%Ea|%+Y|%|    %|%"},
	{"date ISO weeks", `return os.date('!%G %g %V %U %W %u %w %j', 1230768000) .. '|' .. os.date('!%G %g %V', 1293753600)`, "2009 09 01 00 00 4 4 001|2010 10 52"},
	{"date negative time", `return os.date('!%c|%s|%C|%y', -86400 * 400)`, "Wed Nov 27 00:00:00 1968|-34560000|19|68"},
	{"date *t", `local t = os.date('!*t', 1e9) return table.concat({t.year, t.month, t.day, t.hour, t.min, t.sec, t.wday, t.yday, tostring(t.isdst)}, ',')`, "2001,9,9,1,46,40,1,252,false"},
	{"log with base", `return table.concat({math.log(8, 2), math.log(1000, 10), math.log(1), math.log(27, 3) - 3 < 1e-12 and 'ok' or 'no'}, ',')`, "3,3,0,ok"},
	{"collectgarbage results", `return table.concat({type(collectgarbage('count')), collectgarbage('collect'), collectgarbage(), collectgarbage('setpause', 100), collectgarbage('setpause', 200), collectgarbage('setstepmul', 300), collectgarbage('setstepmul', 200), collectgarbage('stop'), collectgarbage('restart'), type(collectgarbage('step'))}, ',')`, "number,0,0,200,100,200,300,0,0,boolean"},
	{"getinfo short_src and currentline", `local i = debug.getinfo(1, 'Sl') return i.short_src .. ':' .. i.currentline .. ':' .. i.what .. ':' .. i.source`, "c.lua:1:main:@c.lua"},
	{"getinfo of a function", `local function f() end local i = debug.getinfo(f) return i.short_src .. ':' .. i.linedefined .. ':' .. i.what`, "c.lua:1:Lua"},
	{"format %s pads by bytes", `return ('[%5s][%-6s][%.2s][%5.1s][%05s]'):format('\200\201', 'é', 'éx', 'abc', 'ab')`, "[   \xc8\xc9][\xc3\xa9    ][\xc3\xa9][    a][   ab]"},
	{"require table.new", `return tostring(require('table.new') == table.new) .. tostring(require('table.clear') == table.clear)`, "truetrue"},
	{"read number formats", `local f = io.tmpfile() f:write('  42 0x1F 1e+x 5.e\n-.5 abc\n7\nlast') f:seek('set') local t = {f:read('n', '*n', 'n')} t[#t + 1] = f:read('*l') t[#t + 1] = f:read('n') t[#t + 1] = tostring(f:read('n', 'l')) t[#t + 1] = f:read('L') t[#t + 1] = f:read('n', 'L') t[#t + 1] = tostring(f:read('L')) f:close() return table.concat(t, '|')`, "42|31|1|x 5.e|-0.5|nil|abc\n|7|last"},
	{"date default format", `return tostring(os.date(nil, 0) == os.date('%c', 0)) .. ' ' .. os.date('!%c', 86400 * 31)`, "true Sun Feb  1 00:00:00 1970"},
	{"BOM skipped in chunks", `return loadstring('\239\187\191return "bom"')() .. assert(loadstring('\239\187\191#!/bin/lua\nreturn 1 + 1'))()`, "bom2"},
}

// runChunk runs src from a file named c.lua and returns its string result.
func runChunk(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "c.lua")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	L := New(Options{})
	defer L.Close()
	fn, err := LoadFile(L, path)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := Call(L, fn); err != nil {
		t.Fatal(FormatError(err))
	}
	return strings.ReplaceAll(L.Get(-1).String(), dir+string(filepath.Separator), "")
}

func TestLuaJITResults(t *testing.T) {
	for _, c := range luajitCases {
		t.Run(c.name, func(t *testing.T) {
			if got := runChunk(t, c.src); got != c.want {
				t.Fatalf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestDefaultPackagePath(t *testing.T) {
	t.Setenv("LUA_PATH", "")
	L := New(Options{})
	defer L.Close()
	path := L.GetField(L.GetGlobal("package"), "path").String()
	want := "./?.lua;./?/init.lua;/usr/local/share/lua/5.1/?.lua;/usr/local/share/lua/5.1/?/init.lua;" +
		"/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua"
	if path != want {
		t.Fatalf("package.path = %q, want %q", path, want)
	}
}

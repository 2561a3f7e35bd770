package scripts

import (
	"strings"
	"testing"
)

// toolSpec exercises ljdns.tool from Lua: the parsers, the argument
// cursor and the failures they raise.
const toolSpec = `
local tool = require('ljdns.tool')
local T = tool.new('t', 'Usage: t\n')
local function raises(fn, pat)
	local ok, e = pcall(fn)
	assert(not ok and tool.is_failure(e) and e.status == 1, tostring(e))
	assert(tostring(e):find(pat), tostring(e))
end
local h, p = T:hostport('127.0.0.1#53', 5)
assert(h == '127.0.0.1' and p == 53)
h, p = T:hostport('[::1]#853', 5)
assert(h == '::1' and p == 853)
h, p = T:hostport('::1', 5353)
assert(h == '::1' and p == 5353)
raises(function() T:hostport('#53', 5) end, 'invalid address "#53"')
raises(function() T:hostport('h#99999', 5) end, 'invalid address')
assert(T:uint('42', 'count', 100) == 42)
raises(function() T:uint('101', 'count', 100) end, 'invalid count "101"')
raises(function() T:uint('-1', 'count', 100) end, 'invalid count')
raises(function() T:uint('7', 'size', 100, 8) end, 'invalid size "7"')
assert(tool.key_spec('hmac-sha256:k.:c2VjcmV0') == 'k.:hmac-sha256:c2VjcmV0')
assert(tool.key_spec('k.:hmac-sha256:c2VjcmV0') == 'k.:hmac-sha256:c2VjcmV0')
assert(T:tsig('hmac-sha256:k.:c2VjcmV0'))
raises(function() T:tsig('k.:nosuch:c2VjcmV0') end, 'invalid TSIG key')
local c = T:args({'-a', '-b', 'x', 'rest1', 'rest2'})
assert(c:next() == '-a' and c:next() == '-b' and c:value() == 'x')
local rest = c:rest()
assert(#rest == 2 and rest[2] == 'rest2' and c:next() == nil)
c = T:args({'-b'})
c:next()
raises(function() c:value() end, 'option %-b needs an argument')
assert(tool.wants_help({'x', '--help'}) and tool.wants_help({'-h'}) and not tool.wants_help({'-q'}))
local f = tool.failure(9, 'no %s', 'answer')
assert(tool.is_failure(f) and f.status == 9 and tostring(f) == 'no answer')
print('ok')
`

// TestToolHelper: the shared helper's functions, and T:main's exits.
func TestToolHelper(t *testing.T) {
	r := ljdns(t, "-e", toolSpec)
	mustOK(t, r, "ljdns.tool spec")
	if r.stdout != "ok\n" {
		t.Fatalf("stdout %q stderr %q", r.stdout, r.stderr)
	}
	mains := []struct {
		body   string
		code   int
		stdout string
		stderr string
	}{
		{`return 3`, 3, "", ""},
		{`io.write('out') return nil`, 0, "out", ""},
		{`T.fail(9, 'no answer from %s', 'x')`, 9, "", "t: no answer from x\n"},
		{`T.usage_error('bad "%s"', 'y')`, 1, "", "t: bad \"y\"\n"},
		{`error('internal trouble')`, 7, "", "t: internal trouble\n"},
		{`error('server 192.0.2.1:53: gone')`, 7, "", "t: server 192.0.2.1:53: gone\n"},
		{`local x = nil; return x.field`, 7, "", "t: "},
		{`return T:help()`, 0, "Usage: t\n", ""},
	}
	for _, m := range mains {
		src := "local tool = require('ljdns.tool'); local T = tool.new('t', 'Usage: t\\n'); T.internal_status = 7\n" +
			"T:main(function(args) " + m.body + " end, ...)"
		r := ljdns(t, "-e", src)
		if r.code != m.code || r.stdout != m.stdout || !strings.HasPrefix(r.stderr, m.stderr) ||
			strings.Count(r.stderr, "\n") > 1 || strings.Contains(r.stderr, "traceback") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", m.body, r.code, r.stdout, r.stderr)
		}
	}
}

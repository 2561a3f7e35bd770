package etcdzone

import (
	"testing"

	lua "github.com/yuin/gopher-lua"

	"ljdns/internal/etcdtest"
)

// TestLua: dns.etcdzone from a plain script: push_text, edit (serial + 1),
// get, list, errors as nil, err, delete.
func TestLua(t *testing.T) {
	c := etcdtest.Start(t, 1)
	L := lua.NewState()
	defer L.Close()
	for _, m := range Modules {
		L.PreloadModule(m.Name, m.Load)
	}
	L.SetGlobal("EP", lua.LString(c.Endpoints()[0]))
	if err := L.DoString(`
local ez = require('dns.etcdzone')
local s = assert(ez.connect({endpoints = {EP}, prefix = '/lua/'}))
assert(s:push_text('example.test', '$TTL 60\n@ SOA ns h 41 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n') == 41)
assert(s:edit('example.test', 'add www A 192.0.2.2') == 42)
local z = assert(s:get('example.test'))
assert(z:find('www.example.test. 60 IN A 192.0.2.2', 1, true), z)
assert(s:list()[1] == 'example.test.')
local ok, err = s:edit('example.test', 'del @ SOA')
assert(ok == nil and err:find('SOA'), err)
ok, err = s:get('nosuch.test')
assert(ok == nil and err:find('no such zone'), err)
assert(s:delete('example.test'))
assert(#s:list() == 0)
s:close()
`); err != nil {
		t.Fatal(err)
	}
}

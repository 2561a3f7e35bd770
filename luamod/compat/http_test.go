package compat

import "testing"

func TestHTTPRoundTrip(t *testing.T) {
	L := newTestState(t)
	err := L.DoString(`
		local http = require('http')
		local srv = assert(http.server('127.0.0.1:0', {['/a'] = 'A', ['/e'] = {echo = true, status = 202}}))
		local st, body, h = http.get(srv:url('/a'), {['X-K'] = 'v'})
		assert(st == 200 and body == 'A', tostring(st) .. ' ' .. tostring(body))
		assert(h['content-length'] == '1')
		st, body, h = http.request('DELETE', srv:url('/e'), 'xyz')
		assert(st == 202 and body == 'xyz' and h['x-method'] == 'DELETE')
		local reqs = srv:requests()
		assert(#reqs == 2 and reqs[1].headers['x-k'] == 'v' and reqs[2].body == 'xyz')
		assert(srv:close())
		local ok, err = http.get(srv:url('/a'))
		assert(ok == nil and err:match('^http: '))
	`)
	if err != nil {
		t.Fatal(err)
	}
}

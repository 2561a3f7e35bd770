package sift

// adapt.go is the thin adapter between the set/nameset sinks and the
// sorted RR-set array and name set types of package dns (dns.rrparser).

import (
	lua "github.com/yuin/gopher-lua"

	"ljdns/luamod/dns"
	"ljdns/luamod/dns/zone"
)

// setSink collects single-RDATA rrsets into an (unsorted) sorted set.
type setSink struct {
	ar   rrArena
	sets []*dns.RRSet
}

func siftSet(L *lua.LState) int { return pushSink(L, &setSink{}) }

func (s *setSink) put(L *lua.LState, r *zone.Record) bool {
	s.sets = append(s.sets, s.ar.rrset(r))
	return true
}

func (s *setSink) finish(L *lua.LState) int {
	L.RaiseError("sift.set: sorted set type not available yet")
	return 0
}

// nameSetSink collects owners into a name set, sorted when finalised.
type nameSetSink struct {
	ar    rrArena
	names []*dns.Name
}

func siftNameSet(L *lua.LState) int { return pushSink(L, &nameSetSink{}) }

func (s *nameSetSink) put(L *lua.LState, r *zone.Record) bool {
	s.names = append(s.names, s.ar.name(r.Owner))
	return true
}

func (s *nameSetSink) finish(L *lua.LState) int {
	L.RaiseError("sift.nameset: name set type not available yet")
	return 0
}

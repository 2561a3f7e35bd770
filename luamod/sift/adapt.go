package sift

// adapt.go is the thin adapter between the set/nameset sinks and the
// sorted RR-set array and name set types of package dns (dns.rrparser).

import (
	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsmsg"
	"ljdns/dnsmsg/zone"
	"ljdns/luamod/dns"
)

// setSink collects single-RDATA rrsets into an (unsorted) sorted set.
type setSink struct {
	s *dnsmsg.SortedSet
	n int
}

func siftSet(L *lua.LState) int { return pushSink(L, &setSink{s: dnsmsg.NewSortedSet()}) }

func (s *setSink) put(L *lua.LState, r *zone.Record) bool {
	s.s.AppendRecord(r.Owner, r.Type, r.Class, r.TTL, r.RData)
	s.n++
	return true
}

// finish returns the set (unsorted) and the inserted count.
func (s *setSink) finish(L *lua.LState) int {
	dns.PushSortedSet(L, s.s)
	L.Push(lua.LNumber(s.n))
	return 2
}

// nameSetSink collects owners into a name set, sorted when finalised.
type nameSetSink struct {
	ns *dnsmsg.NameSet
	n  int
}

func siftNameSet(L *lua.LState) int { return pushSink(L, &nameSetSink{ns: dnsmsg.NewNameSet()}) }

func (s *nameSetSink) put(L *lua.LState, r *zone.Record) bool {
	s.ns.Put(r.Owner)
	s.n++
	return true
}

// finish sorts and returns the name set and the inserted count.
func (s *nameSetSink) finish(L *lua.LState) int {
	s.ns.Sort()
	dns.PushNameSet(L, s.ns)
	L.Push(lua.LNumber(s.n))
	return 2
}

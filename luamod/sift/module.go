package sift

import "ljdns/luabind"

// Modules lists the Lua modules this package provides: dns.sift and dns.lmdb.
var Modules = []luabind.Module{
	{Name: "dns.sift", Load: siftLoader},
	{Name: "dns.lmdb", Load: lmdbLoader},
}

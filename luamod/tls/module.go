// Package tls provides ljdns Lua modules (see API.md).
package tls

import "ljdns/luabind"

// Modules lists the Lua modules this package provides.
var Modules = []luabind.Module{}

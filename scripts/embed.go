// Package scripts embeds the Lua tools shipped in the ljdns binary
// (ldig, zq, namepile) and their shared helper module ljdns.tool
// (ljdns/tool.lua). `ljdns ldig ...` runs scripts/ldig.lua, and require
// finds them after package.path (`require('ljdns.tool')`).
package scripts

import "embed"

// FS holds the Lua files of this directory; tools are NAME.lua, helper
// modules live below ljdns/ (not runnable as tools).
//
//go:embed *.lua ljdns/*.lua
var FS embed.FS

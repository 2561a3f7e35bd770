// Package scripts embeds the Lua tools shipped in the ljdns binary
// (ldig, zq, namepile). `ljdns ldig ...` runs scripts/ldig.lua, and
// require finds them after package.path.
package scripts

import "embed"

// FS holds the Lua files of this directory; tools are NAME.lua.
//
//go:embed *.lua
var FS embed.FS

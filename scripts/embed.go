// Package scripts embeds the Lua tools shipped in the ljdns binary
// (ldig, zq, namepile). `ljdns ldig ...` runs scripts/ldig.lua, and
// require finds them after package.path.
package scripts

import "embed"

// FS holds every file of this directory; tools are NAME.lua.
//
//go:embed *
var FS embed.FS

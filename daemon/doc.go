// Package daemon is the server of `ljdns serve` in plain Go: workers with
// their own SO_REUSEPORT sockets, listeners (UDP batched, TCP pipelined with
// out-of-order answers, DNS over TLS, DNS over HTTPS `doh2`, a `webmgmt`
// HTTP listener), the request pipeline with kresd's layer API, the parse
// rules, server cookies, EDNS, truncation and padding, limits, the
// recursion ACL, the outgoing allow list, the control socket, the RUNDIR
// lock, reloads, draining and sd_notify. It imports nothing of Lua
// (TestNoLuaDependency): the Lua configuration environment (luamod/serve)
// builds a Config and Layers on top of it.
//
//	s, err := daemon.New(&daemon.Config{
//		Listen: []daemon.Listen{{Addr: netip.MustParseAddrPort("127.0.0.1:5353")}},
//		Layers: []daemon.Layer{myLayer},
//	})
//	err = s.Start()
//	err = s.Reload(newConfig) // sockets, cookie secret, ticket keys stay
//	err = s.Shutdown(ctx)     // stop accepting, drain, close
//
// A request goes through Begin of each layer (until one says Done or Fail),
// then, if still open and the client may recurse (RD=1, in the recursion
// ACL), forwarding through Request.Upstream with Produce, Checkout and
// Consume around the upstream query, or the Resolver, or REFUSED; then
// Finish and AnswerFinalize of every layer; then the answer is written
// with its OPT RR (cookie, extended error, padding) and truncated over UDP
// above min(client EDNS size, BufSize), or 512 without EDNS.
package daemon

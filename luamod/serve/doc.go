// Package serve is the Lua side of `ljdns serve`: kresd 5's configuration
// environment over the Go daemon (ljdns/daemon).
//
// A Loader executes the configuration file in one Lua state per worker
// (each built by the host like any ljdns state, so require('dns') and
// dns.nbio work there), with kresd's globals: net, modules, cache, event,
// worker, map, kres, option, log_*, resolve, trust_anchors, the units sec
// minute hour day kB MB GB and the rest (README.md lists them and where
// they differ from kresd). Each state is then owned by a goroutine running
// its nbio scheduler: event callbacks, worker.coroutine loops, the control
// socket's lines and the calls of Lua layers are posted to it.
//
// A Lua module's layer table (begin, reset, consume, produce, checkout,
// finish, answer_finalize) becomes a daemon.Layer. Each call runs in a
// coroutine of its own (pooled) on the worker's scheduler, so a layer may
// wait for sockets, dns.client or worker.sleep while the worker serves
// other requests; a Lua CPU budget per request stops endless layers, and
// an error answers SERVFAIL with an extended error and one log line.
//
// Go modules (hints, policy, view, stats, http, serve_stale, rrl, the
// caches) bind themselves in files mod_<name>.go through
// registerModuleBinding; modules.load finds them by name.
package serve

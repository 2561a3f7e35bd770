// Package resolver is ljdns's iterative, validating DNS resolver in plain Go
// (no Lua): the recursion behind `ljdns serve` (daemon.Resolver through
// Layer) and the Deckard scenario runner (resolver/replay).
//
// It starts at the root hints (built-in IANA set unless Config.Roots),
// primes the root NS set (RFC 8109), follows referrals with bailiwick
// checks on every section, ranks cached data as RFC 2181 §5.4.1 says (glue
// never replaces authoritative data), accepts glue by Mode as kresd's
// mode() does, chases CNAMEs and DNAMEs, minimises QNAMEs (RFC 9156) unless
// NoMinimize, sends each query from a fresh random port with a random ID
// (answers of another ID, question or source are dropped and counted), over
// TCP on TC, with EDNS 1232 and no fallback; it picks name servers by
// smoothed RTT, leaves those that timed out aside for NSTimeout (kresd's
// cache.ns_tout), caches negative answers (RFC 2308), applies kresd's
// ALLOW_LOCAL rule to learnt name server addresses, and bounds queries per
// request, nesting depth and NS names resolved per delegation (NXNSAttack).
//
// With trust anchors it validates through ljdns/validator, fetching DS and
// DNSKEY sets through the same iteration: AD only for secure answers asked
// with DO or AD (RFC 6840), CD honoured, bogus answers become SERVFAIL with
// the extended error naming the reason, NSEC3 above the iterations cap is
// insecure with EDE 27, negative trust anchors are honoured.
package resolver

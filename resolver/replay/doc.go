// Package replay runs Deckard scenarios (.rpl files, CZ-NIC/deckard's
// format, mostly from Unbound's testbound) against a recursive resolver
// without any socket: Parse reads a scenario (a malformed one is a
// *ParseError naming file and line), MapConfig maps its CONFIG section the
// way Deckard's kresd.j2 configures kresd, and a Runner plays the steps —
// QUERY steps go to the resolver under test, whose upstream queries are
// answered from the RANGE entries and REPLY steps by an in-memory
// Exchanger (the scenario's addresses are never contacted), TIME_PASSES
// moves a clock.Fake started at the scenario's date, CHECK_ANSWER compares
// the last answer on the entry's MATCH elements (Deckard's semantics: RR
// sets compared as sets, TTLs ignored, owner names case-insensitive).
//
// NewResolver is the Factory of ljdns's resolver, composed as `ljdns
// serve` composes it and as kresd.j2 configures kresd: the resolver's
// Layer behind the daemon's request pipeline with the Go modules in place
// of kresd's (policy with kresd.j2's rules, ta_sentinel; forward-addr as
// policy.FORWARD; features dns64_prefix and renumber_src/renumber_dst;
// feature-list policy rules, read by a small Lua-free reader of kresd's
// policy expressions). Each query goes through Exchange of a daemon.Server
// that is never started; FORWARD's upstream is the scenario's network
// (validated by dnsclient.Validating under the scenario's trust anchors,
// as kresd validates what it forwards).
//
// `ljdns replay FILE.rpl...` is the command; skip.txt lists the scenarios
// not supported, with a reason each (SkipList).
//
// In CI, TestDeckardSets plays the shared set (../shared/deckard/sets
// above the repository, or $LJDNS_DECKARD_SETS; skipped without it) and
// logs the pass count. known_failures.txt names the scenarios the resolver
// fails today with the finding behind each: a failure not listed there is
// a regression and fails the test; a listed one passing is logged so the
// list only shrinks. `ljdns replay ../shared/deckard/sets/*.rpl` prints
// the same counts ("N passed, N failed, N skipped") and exits 1 when any
// scenario fails.
package replay

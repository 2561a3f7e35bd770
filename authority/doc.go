// Package authority is the answer engine of `ljdns serve`'s authoritative
// role (SERVE.md §5), zonefile profile: plain Go, no Lua, testable without
// the daemon.
//
// A Zone is loaded from a master file (LoadZone, ParseZone) with the
// dnsmsg/zone scanner into a map of nodes (every name and each empty
// non-terminal) with the NSEC owners in canonical order and the NSEC3
// chain sorted by hash. An Engine serves several zones, the longest origin
// matching a name answering for it, and swaps zones whole (Add, Load,
// Reload), so queries never wait for a load and a broken file keeps the
// last good version.
//
// Answer follows RFC 1034 §4.3.2 as knotd 3.2 answers, which the
// differential tests check on every case below:
//   - exact matches with AA; additional addresses for NS, MX and SRV targets
//     in the zone;
//   - CNAME chains inside the zone (knotd stops at the zone's edge;
//     Options.CrossZoneCNAME follows into other served zones), loops cut;
//   - wildcards (RFC 4592) below the closest encloser, an empty
//     non-terminal blocking them; DNAME (RFC 6672) with a synthesised CNAME,
//     YXDOMAIN when the new name is too long;
//   - referrals without AA, with the NS set and glue; TC when in-domain glue
//     does not fit (RFC 9471); DS answered by the parent;
//   - NODATA and NXDOMAIN with the SOA, TTL min(SOA TTL, MINIMUM) (RFC
//     2308 §5);
//   - ANY and RRSIG queries answered with one set, the lowest type, over UDP
//     and TCP (knotd; RFC 8482 §4.1), Options.FullANY for every set;
//   - REFUSED outside every zone, FORMERR, NOTIMP for other opcodes,
//     BADVERS for EDNS versions above 0;
//   - pre-signed zones: RRSIGs with DO, NSEC or NSEC3 proofs for NXDOMAIN,
//     NODATA, wildcard answers and insecure referrals (incl. opt-out).
//
// Transfer writes a zone as an AXFR stream of messages; who may transfer
// and over which transport is the caller's decision.
package authority

// Package dnsmsg is ljdns's DNS core in plain Go, shared by the Lua
// modules (luamod/dns and the packages built on it) and by Go programs
// such as the daemon. It imports no Lua package (TestNoLuaDependency).
//
// Names are uncompressed wire bytes, root label included:
//
//	n, err := dnsmsg.NameFromText("www.example.org") // *Name; n.Wire == "\x03www\x07example\x03org\x00"
//	n.String()                                       // "www.example.org."
//	dnsmsg.CompareNames(a, b)                        // canonical order (RFC 4034 §6.1), no allocation
//	dnsmsg.NameWithin(n.Wire, parent)                // label-wise, case-insensitive
//
// RDATA is wire bytes too; the text forms follow API.md §1.7 (knot's
// style) and are parsed with miekg/dns for the rare types:
//
//	t, rd, err := dnsmsg.ParseRData("MX 10 mail.example.org.")
//	dnsmsg.RDataText(t, rd) // "10 mail.example.org."
//
// An RRSet holds one owner, type, class and TTL and its RDATA in
// canonical order without duplicates (Add). A Packet is a message in a
// fixed-capacity buffer, written in section order with compression and
// parsed strictly:
//
//	q := dnsmsg.NewPacket(512)
//	q.SetQuestion(n.Wire, dnsmsg.TypeAAAA, dnsmsg.ClassINET)
//	q.Begin(dnsmsg.SectionAR)
//	q.Put(dnsmsg.NewOPT(0, 1232), false)
//	wire := q.Bytes()
//
//	r := dnsmsg.NewPacketFrom(len(buf), buf) // buf as received
//	if code := r.Parse(false); code != 0 { /* dnsmsg.StrError(code) */ }
//	for _, rr := range r.Records(dnsmsg.SectionAN) { ... }
//	r.Rcode(); r.OPT(); r.Answers(q)
//
// EDNS options live in the OPT RR (EDNSOption, SetEDNSOption, OPTDo);
// TSIG (RFC 8945) signs and verifies whole exchanges (ParseTSIGKey,
// (*TSIG).Sign, (*TSIG).Verify). SortedSet and NameSet are large sorted,
// searchable arrays of RR sets and names (ljdns's rrparser.set() and
// rrparser.nameset()). The zone-file scanner is the subpackage
// dnsmsg/zone.
package dnsmsg

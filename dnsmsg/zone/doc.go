// Package zone is a fast, allocation-free streaming scanner for RFC 1035
// master files ("zone files"). It is plain Go (no Lua) and is used by the
// Lua modules dns.rrparser and dns.sift.
//
// Usage:
//
//	s := zone.NewScanner(r, "example.com.", zone.ClassINET, 3600)
//	for s.Next() {
//		rec := s.Record() // slices valid until the next call to Next
//		fmt.Println(rec.Owner, rec.Type, rec.Class, rec.TTL, rec.RData)
//	}
//	if err := s.Err(); err != nil { // nil at a clean end of input
//		log.Fatal(err) // *ParseError: "file:line: message"
//	}
//
// or, for a file whose $INCLUDE directives are resolved relative to it:
//
//	s, err := zone.NewFileScanner("example.com.zone", ".", zone.ClassINET, 3600)
//	if err != nil { ... }
//	defer s.Close()
//
// Records come out in file order with:
//
//   - Owner: the owner in uncompressed wire form, root label included;
//   - Type, Class, TTL: numbers (TTL 0..2^32-1);
//   - RData: the canonical uncompressed wire RDATA, byte for byte what
//     miekg/dns packs for the same record.
//
// Supported syntax: $ORIGIN, $TTL, $INCLUDE <file> [origin] (followed,
// relative to the including file, origin restored afterwards; disable with
// AllowInclude=false), "( ... )" continuation over several lines, ";"
// comments, quoted strings with backslash escapes, "@", relative names,
// a blank owner (the previous record's owner), omitted TTL (the $TTL value,
// or the default given to NewScanner) and class (the class given to
// NewScanner), TTL and class in either order, TTL units ("6h", "1w2d"),
// \DDD and \X escapes in names, generic TYPEnnn / CLASSnnn and RFC 3597
// "\# len hex" RDATA. $GENERATE is not supported (error).
//
// The common types A, AAAA, NS, CNAME, PTR, DNAME, MX, TXT, SPF, SOA, SRV,
// DS, DNSKEY and CAA are encoded by hand-written code working directly on
// the input bytes; every other type, and any unusual spelling of a common
// type (escapes, quoted numbers, mnemonics, ...), is handed to miekg/dns
// (the record is rebuilt as one text line and parsed with its ZoneParser),
// so the accepted syntax and the produced RDATA equal miekg/dns's.
//
// Errors never panic: bad input stops the scan and Err returns a
// *ParseError carrying the file name (if any) and the line number.
package zone

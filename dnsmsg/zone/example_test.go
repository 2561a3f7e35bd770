package zone_test

import (
	"fmt"
	"strings"

	"ljdns/dnsmsg/zone"
)

func ExampleScanner() {
	text := `$ORIGIN example.org.
@	3600	IN	SOA	ns hostmaster ( 1 7200 3600 1209600 300 )
	IN	NS	ns
www	300	A	192.0.2.1
`
	s := zone.NewScanner(strings.NewReader(text), ".", zone.ClassINET, 3600)
	for s.Next() {
		r := s.Record()
		fmt.Printf("%q type %d ttl %d rdata %d bytes\n", r.Owner, r.Type, r.TTL, len(r.RData))
	}
	fmt.Println(s.Err())
	// Output:
	// "\aexample\x03org\x00" type 6 ttl 3600 rdata 60 bytes
	// "\aexample\x03org\x00" type 2 ttl 3600 rdata 16 bytes
	// "\x03www\aexample\x03org\x00" type 1 ttl 300 rdata 4 bytes
	// <nil>
}

func ExampleParseError() {
	s := zone.NewScanner(strings.NewReader("a A 192.0.2.1\nb A 192.0.2\n"), "example.", zone.ClassINET, 3600)
	for s.Next() {
	}
	fmt.Println(s.Err())
	// Output:
	// line 2: bad A A: "192.0.2"
}

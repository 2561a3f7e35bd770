package dns_test

import (
	"fmt"

	"ljdns/luamod/dns"
)

func ExampleNewPacket() {
	p := dns.NewPacket(512)
	owner, _ := dns.NameFromText("example.org")
	p.SetQuestion(owner.Wire, dns.TypeA, dns.ClassINET)
	rr := &dns.RRSet{Owner: owner, Type: dns.TypeA, Class: dns.ClassINET, TTL: 300}
	_, rd, _ := dns.ParseRData("A 192.0.2.1")
	rr.Add(rd)
	p.Put(rr, false)
	fmt.Print(p.ShortString())
	// Output: example.org.        	300	A	192.0.2.1
}

func ExampleCompareNames() {
	a, _ := dns.NameFromText("a.example")
	b, _ := dns.NameFromText("Z.example")
	fmt.Println(dns.CompareNames(a.Wire, b.Wire) < 0)
	// Output: true
}

func ExampleParseRData() {
	t, rd, _ := dns.ParseRData("MX 10 mail")
	fmt.Printf("%s %q %s\n", dns.TypeString(t), rd, dns.RDataText(t, rd))
	// Output: MX "\x00\n\x04mail\x00" 10 mail.
}

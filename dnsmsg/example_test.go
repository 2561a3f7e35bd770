package dnsmsg_test

import (
	"fmt"

	"ljdns/dnsmsg"
)

func ExampleNewPacket() {
	p := dnsmsg.NewPacket(512)
	owner, _ := dnsmsg.NameFromText("example.org")
	p.SetQuestion(owner.Wire, dnsmsg.TypeA, dnsmsg.ClassINET)
	rr := &dnsmsg.RRSet{Owner: owner, Type: dnsmsg.TypeA, Class: dnsmsg.ClassINET, TTL: 300}
	_, rd, _ := dnsmsg.ParseRData("A 192.0.2.1")
	rr.Add(rd)
	p.Put(rr, false)
	fmt.Print(p.ShortString())
	// Output: example.org.        	300	A	192.0.2.1
}

func ExampleCompareNames() {
	a, _ := dnsmsg.NameFromText("a.example")
	b, _ := dnsmsg.NameFromText("Z.example")
	fmt.Println(dnsmsg.CompareNames(a.Wire, b.Wire) < 0)
	// Output: true
}

func ExampleParseRData() {
	t, rd, _ := dnsmsg.ParseRData("MX 10 mail")
	fmt.Printf("%s %q %s\n", dnsmsg.TypeString(t), rd, dnsmsg.RDataText(t, rd))
	// Output: MX "\x00\n\x04mail\x00" 10 mail.
}

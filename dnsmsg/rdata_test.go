package dnsmsg

import "testing"

func TestParseRDataRoundTrip(t *testing.T) {
	tests := []struct{ in, text string }{
		{"A 1.2.3.4", "1.2.3.4"},
		{"AAAA 2001:DB8::1", "2001:db8::1"},
		{"NS test", "test."},
		{"MX 10 mail.example.", "10 mail.example."},
		{"SOA a.ns.nic.cz. hostmaster.nic.cz. 1 900 300 604800 900", "a.ns.nic.cz. hostmaster.nic.cz. 1 900 300 604800 900"},
		{`TXT "abcd" "x\"y"`, `"abcd" "x\"y"`},
		{"SRV 0 5 53 ns.example.", "0 5 53 ns.example."},
		{"DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118", "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118"},
		{"TLSA 3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6", "3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6"},
		{"NSEC host.example. A MX RRSIG NSEC TYPE1234", "host.example. A MX RRSIG NSEC TYPE1234"},
		{"NSEC3 1 1 12 AABBCCDD 2VPTU5TIMAMQTTGL4LUU9KG21E0AOR3S A RRSIG", "1 1 12 AABBCCDD 2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG"},
		{"NSEC3PARAM 1 0 0 -", "1 0 0 -"},
		{"TYPE65534 \\# 2 abcd", `\# 2 ABCD`},
		{"CAA 0 issue \"ca.example.net\"", `0 issue "ca.example.net"`},
		{"HTTPS 1 . alpn=h2", "1 . alpn=\"h2\""},
		{"LOC 52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m", "52 22 23.000 N 04 53 32.000 E -2m 0.00m 10000m 10m"},
		{"RRSIG A 8 2 3600 20260101000000 20251201000000 12345 example. AQID", "A 8 2 3600 20260101000000 20251201000000 12345 example. AQID"},
		{"DNSKEY 256 3 13 AQID", "256 3 13 AQID"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			typ, rd, err := ParseRData(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := RDataText(typ, rd); got != tc.text {
				t.Fatalf("text %q, want %q", got, tc.text)
			}
		})
	}
	for _, bad := range []string{"A", "A asdf", "SRV 0 5 zzzz", "", "BOGUS 1", "A 1.2.3.4\nA 1.2.3.5"} {
		if _, _, err := ParseRData(bad); err == nil {
			t.Errorf("ParseRData(%q) accepted", bad)
		}
	}
	if _, rd, _ := ParseRData("NS test"); string(rd) != "\x04test\x00" {
		t.Errorf("NS test = %q", rd)
	}
}

package dnssec_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	lua "github.com/yuin/gopher-lua"

	"ljdns/host"
)

// zoneRecords is the zone the Lua script signs (a wildcard included, no
// delegation: the script signs every RR set).
const zoneRecords = `$ORIGIN example.com.
$TTL 3600
@	IN SOA ns1 hostmaster 2024010101 7200 3600 1209600 3600
@	IN NS ns1
@	IN NS ns2.example.net.
@	IN MX 10 Mail
@	IN TXT "v=spf1 -all" "second string"
ns1	IN A 192.0.2.1
ns1	IN AAAA 2001:db8::1
Mail	IN A 192.0.2.2
Mail	IN A 192.0.2.3
www	IN CNAME @
*.wild	IN TXT "wildcard"
_sip._udp	IN SRV 0 5 5060 Mail
`

// luaString quotes b as a Lua string literal with decimal escapes.
func luaString(b []byte) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for _, c := range b {
		fmt.Fprintf(&sb, "\\%03d", c)
	}
	sb.WriteByte('"')
	return sb.String()
}

// signWithLua runs testdata/signzone.lua over zoneRecords and returns the
// signed zone text.
func signWithLua(t *testing.T, ksk, zsk string, alg int) string {
	t.Helper()
	zp := mdns.NewZoneParser(strings.NewReader(zoneRecords), "", "")
	var src strings.Builder
	src.WriteString("records = {\n")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		buf := make([]byte, 4096)
		off, err := mdns.PackRR(rr, buf, 0, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		h := rr.Header()
		ownerLen, _ := mdns.PackDomainName(h.Name, make([]byte, 256), 0, nil, false)
		fmt.Fprintf(&src, "{owner=%s, type=%d, ttl=%d, rdata=%s},\n", luaString(buf[:ownerLen]), h.Rrtype, h.Ttl, luaString(buf[ownerLen+10:off]))
	}
	if zp.Err() != nil {
		t.Fatal(zp.Err())
	}
	src.WriteString("}\n")
	fmt.Fprintf(&src, "apex = %s\nksk_key = %s\nzsk_key = %s\nalgorithm = %d\ninception = %d\n",
		luaString([]byte("\x07example\x03com\x00")), luaString([]byte(ksk)), luaString([]byte(zsk)), alg, time.Now().Unix()-3600)

	L := host.New(host.Options{})
	defer L.Close()
	fn, err := host.LoadString(L, src.String(), "globals")
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Call(L, fn); err != nil {
		t.Fatal(host.FormatError(err))
	}
	fn, err = host.LoadFile(L, "testdata/signzone.lua")
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Call(L, fn); err != nil {
		t.Fatal(host.FormatError(err))
	}
	out, ok := L.Get(-1).(lua.LString)
	if !ok {
		t.Fatalf("signzone.lua returned %v", L.Get(-1))
	}
	return string(out)
}

// keygen makes a key pair with ldns-keygen and returns the private file text.
func keygen(t *testing.T, dir, alg, bits string, ksk bool) string {
	t.Helper()
	args := []string{"-a", alg, "-b", bits}
	if ksk {
		args = append(args, "-k")
	}
	cmd := exec.Command("ldns-keygen", append(args, "example.com")...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("ldns-keygen %s: %v", alg, err)
	}
	priv, err := os.ReadFile(filepath.Join(dir, strings.TrimSpace(string(out))+".private"))
	if err != nil {
		t.Fatal(err)
	}
	return string(priv)
}

// TestLuaSignedZoneVerifies signs a zone from Lua and checks it with
// ldns-verify-zone and dnssec-verify (whichever are installed).
func TestLuaSignedZoneVerifies(t *testing.T) {
	if _, err := exec.LookPath("ldns-keygen"); err != nil {
		t.Skip("ldns-keygen not installed")
	}
	var verifiers [][]string
	if _, err := exec.LookPath("ldns-verify-zone"); err == nil {
		verifiers = append(verifiers, []string{"ldns-verify-zone"})
	}
	if _, err := exec.LookPath("dnssec-verify"); err == nil {
		verifiers = append(verifiers, []string{"dnssec-verify", "-o", "example.com"})
	}
	if _, err := exec.LookPath("kzonecheck"); err == nil {
		verifiers = append(verifiers, []string{"kzonecheck", "-o", "example.com", "-d", "on"})
	}
	if len(verifiers) == 0 {
		t.Skip("no zone verifier installed")
	}
	for _, c := range []struct {
		alg  string
		num  int
		bits string
	}{{"ECDSAP256SHA256", 13, "256"}, {"RSASHA256", 8, "1024"}, {"ED25519", 15, "256"}, {"ECDSAP384SHA384", 14, "384"}, {"RSASHA1", 5, "1024"}} {
		t.Run(c.alg, func(t *testing.T) {
			dir := t.TempDir()
			ksk := keygen(t, dir, c.alg, c.bits, true)
			zsk := keygen(t, dir, c.alg, c.bits, false)
			signed := signWithLua(t, ksk, zsk, c.num)
			file := filepath.Join(dir, "example.com.signed")
			if err := os.WriteFile(file, []byte(signed), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, v := range verifiers {
				cmd := exec.Command(v[0], append(v[1:], file)...)
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Errorf("%s rejects the zone: %v\n%s", v[0], err, out)
				}
				t.Logf("%s: %s", v[0], out)
			}
			// A corrupted signature must be caught (the verifiers really check).
			i := strings.Index(signed, "IN TYPE46 ")
			j := strings.Index(signed[i:], "\n") + i
			bad := signed[:j-3] + flipHex(signed[j-3:j]) + signed[j:]
			os.WriteFile(file, []byte(bad), 0o644)
			for _, v := range verifiers {
				if out, err := exec.Command(v[0], append(v[1:], file)...).CombinedOutput(); err == nil {
					t.Errorf("%s accepts a corrupted signature\n%s", v[0], out)
				}
			}
		})
	}
}

// flipHex changes the first hex digit of s.
func flipHex(s string) string {
	if s[0] == '0' {
		return "1" + s[1:]
	}
	return "0" + s[1:]
}

// benchLua runs body (with key, signer, rr and sig set up for the sample
// key named name) b.N times from Lua.
func benchLua(b *testing.B, name, body string) {
	L := host.New(host.Options{})
	defer L.Close()
	setup := `package.path = '../../?.lua;' .. package.path
		dofile('../../spec/helper.lua')
		dns = require('dns')
		local dnssec = require('dns.dnssec')
		local s = sample_keys['` + name + `']
		key = dnssec.key()
		key:algo(s.algorithm)
		assert(key:privkey(s.pem))
		signer = dnssec.signer(key)
		rr = dns.rrset('\3www\7example\3com', dns.type.A)
		rr:add('\1\2\3\4', 3600)
		rr:add('\1\2\3\5')
		sig = signer:sign(rr)
		return function(n) for i = 1, n do ` + body + ` end end`
	fn, err := host.LoadString(L, setup, "bench")
	if err != nil {
		b.Fatal(err)
	}
	if err := host.Call(L, fn); err != nil {
		b.Fatal(host.FormatError(err))
	}
	loop := L.Get(-1).(*lua.LFunction)
	b.ResetTimer()
	start := cpuTime()
	if err := host.Call(L, loop, lua.LNumber(b.N)); err != nil {
		b.Fatal(host.FormatError(err))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	if cpu := cpuTime() - start; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "ops/cpu-s")
	}
}

// cpuTime returns the CPU time (user + system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLua measures signer:sign(rr) and signer:verify(rr, rrsig) from
// Lua, as examples/bench.lua and examples/bench_dnssec.lua do.
func BenchmarkLua(b *testing.B) {
	for _, name := range []string{"ecdsa", "rsa"} {
		b.Run(name+"/sign", func(b *testing.B) { benchLua(b, name, "signer:sign(rr)") })
		b.Run(name+"/verify", func(b *testing.B) { benchLua(b, name, "assert(signer:verify(rr, sig))") })
	}
}

// TestLuaVerifiesSignedZones signs testZone with dnssec-signzone and
// ldns-signzone and verifies every RRSIG from Lua (testdata/verifyzone.lua).
func TestLuaVerifiesSignedZones(t *testing.T) {
	for _, c := range []struct {
		name, alg string
		sign      func(t *testing.T, dir, zone string) error
	}{
		{"dnssec-signzone/ECDSAP256SHA256", "ECDSAP256SHA256", bindSign},
		{"dnssec-signzone/RSASHA256", "RSASHA256", bindSign},
		{"dnssec-signzone/ED25519", "ED25519", bindSign},
		{"ldns-signzone/ECDSAP384SHA384", "ECDSAP384SHA384", ldnsSign},
		{"ldns-signzone/RSASHA512", "RSASHA512", ldnsSign},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			zone := filepath.Join(dir, "example.com.zone")
			if err := os.WriteFile(zone, []byte(signZone), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := c.sign(t, dir, zone+"|"+c.alg); err != nil {
				t.Skip(err)
			}
			L := host.New(host.Options{})
			defer L.Close()
			L.SetGlobal("zonefile", lua.LString(zone+".signed"))
			fn, err := host.LoadFile(L, "testdata/verifyzone.lua")
			if err != nil {
				t.Fatal(err)
			}
			if err := host.Call(L, fn); err != nil {
				t.Fatal(host.FormatError(err))
			}
			n, failures := L.Get(-2), L.Get(-1).(*lua.LTable)
			for i := 1; i <= failures.Len(); i++ {
				t.Error(failures.RawGetInt(i))
			}
			if v, _ := n.(lua.LNumber); v < 10 {
				t.Errorf("only %v RRSIGs verified", n)
			}
			t.Logf("%v RRSIGs verified from Lua", n)
		})
	}
}

// signZone is the zone signed by the tools for TestLuaVerifiesSignedZones.
const signZone = `$ORIGIN example.com.
$TTL 3600
@	IN SOA ns1 hostmaster 2024010101 7200 3600 1209600 3600
@	IN NS ns1
@	IN MX 10 Mail
ns1	IN A 192.0.2.1
ns1	IN AAAA 2001:db8::1
Mail	IN A 192.0.2.2
www	IN CNAME @
*.wild	IN TXT "wildcard"
sub	IN NS ns.sub
ns.sub	IN A 192.0.2.3
`

// bindSign signs with dnssec-keygen + dnssec-signzone; spec is "zone|alg".
func bindSign(t *testing.T, dir, spec string) error {
	zone, alg, _ := strings.Cut(spec, "|")
	for _, extra := range [][]string{{"-f", "KSK"}, nil} {
		args := append([]string{"-q", "-K", dir, "-a", alg}, extra...)
		if strings.HasPrefix(alg, "RSA") {
			args = append(args, "-b", "1024")
		}
		if out, err := exec.Command("dnssec-keygen", append(args, "example.com")...).CombinedOutput(); err != nil {
			return fmt.Errorf("dnssec-keygen: %v %s", err, out)
		}
	}
	if out, err := exec.Command("dnssec-signzone", "-q", "-d", dir, "-K", dir, "-S", "-o", "example.com", "-f", zone+".signed", zone).CombinedOutput(); err != nil {
		return fmt.Errorf("dnssec-signzone: %v %s", err, out)
	}
	return nil
}

// ldnsSign signs with ldns-keygen + ldns-signzone; spec is "zone|alg".
func ldnsSign(t *testing.T, dir, spec string) error {
	zone, alg, _ := strings.Cut(spec, "|")
	var bases []string
	for _, ksk := range []bool{true, false} {
		args := []string{"-a", alg, "-b", "1024"}
		if ksk {
			args = append(args, "-k")
		}
		cmd := exec.Command("ldns-keygen", append(args, "example.com")...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("ldns-keygen: %v", err)
		}
		bases = append(bases, filepath.Join(dir, strings.TrimSpace(string(out))))
	}
	args := append([]string{"-o", "example.com", "-f", zone + ".signed", zone}, bases...)
	if out, err := exec.Command("ldns-signzone", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ldns-signzone: %v %s", err, out)
	}
	return nil
}

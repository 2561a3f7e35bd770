package dnsclient

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/miekg/dns"
)

// TestGenCorpus writes the seed corpus of FuzzMatchAnswer (run with
// LJDNS_REGEN_CORPUS=1).
func TestGenCorpus(t *testing.T) {
	if os.Getenv("LJDNS_REGEN_CORPUS") == "" {
		t.Skip("set LJDNS_REGEN_CORPUS=1 to rewrite testdata/fuzz/FuzzMatchAnswer")
	}
	dir := "testdata/fuzz/FuzzMatchAnswer"
	os.MkdirAll(dir, 0o755)
	q := new(dns.Msg)
	q.SetQuestion("www.example.test.", dns.TypeA)
	q.Id = 4660
	q.SetEdns0(1232, false)
	qb, _ := q.Pack()
	write := func(name string, query, ans []byte) {
		s := "go test fuzz v1\n[]byte(" + strconv.Quote(string(query)) + ")\n[]byte(" + strconv.Quote(string(ans)) + ")\n"
		os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644)
	}
	mk := func(f func(r *dns.Msg)) []byte {
		r := new(dns.Msg)
		r.SetReply(q)
		rr, _ := dns.NewRR("www.example.test. 300 IN A 192.0.2.1")
		r.Answer = []dns.RR{rr}
		r.SetEdns0(1232, false)
		f(r)
		b, err := r.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	write("answer", qb, mk(func(*dns.Msg) {}))
	write("wrong-id", qb, mk(func(r *dns.Msg) { r.Id++ }))
	write("wrong-name", qb, mk(func(r *dns.Msg) { r.Question[0].Name = "WWW.example.test." }))
	write("no-qr", qb, mk(func(r *dns.Msg) { r.Response = false }))
	write("formerr-no-question", qb, mk(func(r *dns.Msg) { r.Question = nil; r.Answer = nil; r.Extra = nil; r.Rcode = dns.RcodeFormatError }))
	write("truncated", qb, mk(func(r *dns.Msg) { r.Truncated = true })[:40])
	write("nxdomain-soa", qb, mk(func(r *dns.Msg) {
		r.Answer = nil
		r.Rcode = dns.RcodeNameError
		soa, _ := dns.NewRR("example.test. 3600 IN SOA ns.example.test. hm.example.test. 1 3600 600 86400 300")
		r.Ns = []dns.RR{soa}
	}))
	write("referral", qb, mk(func(r *dns.Msg) {
		r.Answer = nil
		ns, _ := dns.NewRR("example.test. 3600 IN NS ns.example.test.")
		r.Ns = []dns.RR{ns}
	}))
	a := mk(func(r *dns.Msg) {})
	loop := append([]byte(nil), a...)
	loop[len(qb)-11+0] = 0xC0 // a pointer where the answer's owner starts (compression into itself)
	write("pointer-loop", qb, loop)
	ax := new(dns.Msg)
	ax.SetQuestion("example.test.", dns.TypeAXFR)
	ax.Id = 7
	axb, _ := ax.Pack()
	r := new(dns.Msg)
	r.SetReply(ax)
	soa, _ := dns.NewRR("example.test. 3600 IN SOA ns.example.test. hm.example.test. 1 3600 600 86400 300")
	txt, _ := dns.NewRR("t.example.test. 300 IN TXT \"x\"")
	r.Answer = []dns.RR{soa, txt, soa}
	rb, _ := r.Pack()
	write("axfr", axb, rb)
}

package zonefile

import (
	"path/filepath"
	"testing"

	"github.com/miekg/dns"

	"ljdns/authority"
)

// TestConfigureSigning: Configure signs a zone on line when its Sign is
// set, stops when it is dropped, and switches the denial mode, each on
// the next Configure (the zone loaded again with the new configuration).
func TestConfigureSigning(t *testing.T) {
	file, _ := filepath.Abs("../../../authority/testdata/online.test.zone")
	keys, _ := filepath.Abs("../../../authority/testdata/keys/ecdsa")
	m := New(Options{Poll: -1})
	defer m.Close()
	ask := func(name string) *dns.Msg {
		q := new(dns.Msg)
		q.SetQuestion(name, dns.TypeA)
		q.SetEdns0(1232, true)
		w, _ := q.Pack()
		r := new(dns.Msg)
		if err := r.Unpack(m.Engine().Answer(w, false)); err != nil {
			t.Fatal(err)
		}
		return r
	}
	sigs := func(r *dns.Msg) int {
		n := 0
		for _, rr := range append(r.Answer, r.Ns...) {
			if rr.Header().Rrtype == dns.TypeRRSIG {
				n++
			}
		}
		return n
	}
	for i, c := range []struct {
		sign    *authority.SignConfig
		wantSig bool
		nxRcode int
	}{
		{nil, false, dns.RcodeNameError},
		{&authority.SignConfig{KeyDir: keys}, true, dns.RcodeNameError},
		{&authority.SignConfig{KeyDir: keys, Options: authority.SignOptions{Denial: authority.Compact}}, true, dns.RcodeSuccess},
		{nil, false, dns.RcodeNameError},
	} {
		if err := m.Configure([]Zone{{Name: "online.test", File: file, Sign: c.sign}}); err != nil {
			t.Fatal(err)
		}
		if r := ask("www.online.test."); (sigs(r) > 0) != c.wantSig {
			t.Errorf("step %d: www: %d RRSIGs, want signed %v", i, sigs(r), c.wantSig)
		}
		if r := ask("nx.online.test."); r.Rcode != c.nxRcode {
			t.Errorf("step %d: nx: %s, want %s", i, dns.RcodeToString[r.Rcode], dns.RcodeToString[c.nxRcode])
		}
	}
}

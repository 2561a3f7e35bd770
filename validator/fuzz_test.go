package validator

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"ljdns/clock"
	"ljdns/dnsmsg"
	"ljdns/dnssec"
)

// fuzzSeeds are questions whose answers (from stdWorld) seed FuzzValidate.
var fuzzSeeds = []struct {
	name  string
	qtype uint16
}{
	{"www.example.", 1}, {"nx.example.", 1}, {"www.example.", 28}, {"x.wild.example.", 1},
	{"chain.example.", 1}, {"nx.n3.example.", 1}, {"q.wild.n3.example.", 16}, {"www.u.oo.example.", 1},
	{"nx.iter.example.", 1}, {"example.", dnssec.TypeDNSKEY}, {"n3.example.", dnssec.TypeDS},
}

// FuzzValidate feeds Validate malformed and mutated messages: answer is the
// message to validate, chain replaces the fetched answer to the first
// question of the chain (DS or DNSKEY). It must not panic, and every verdict
// must be well formed.
func FuzzValidate(f *testing.F) {
	w := stdWorld(f)
	w.quiet = true
	for _, s := range fuzzSeeds {
		a, _ := w.fetch(context.Background(), wire(f, s.name), s.qtype)
		f.Add(a.Bytes(), []byte(nil))
	}
	ds, _ := w.fetch(context.Background(), wire(f, "example."), dnssec.TypeDS)
	www, _ := w.fetch(context.Background(), wire(f, "www.example."), 1)
	f.Add(www.Bytes(), ds.Bytes())
	f.Fuzz(func(t *testing.T, answer, chain []byte) {
		v, err := New(Config{Anchors: w.anchors, Clock: clock.NewFake(t0)})
		if err != nil {
			t.Fatal(err)
		}
		first := true
		fetch := func(ctx context.Context, name []byte, qtype uint16) (*dnsmsg.Packet, error) {
			if first && len(chain) > 0 {
				first = false
				return dnsmsg.NewPacketFrom(len(chain), chain), nil
			}
			return w.fetch(ctx, name, qtype)
		}
		r := v.Validate(context.Background(), nil, dnsmsg.NewPacketFrom(len(answer), answer), fetch)
		switch r.Security {
		case Secure:
			if r.EDE != EDENone {
				t.Fatalf("secure with EDE %d", r.EDE)
			}
		case Bogus:
			if r.EDE < 0 || r.Reason == "" {
				t.Fatalf("bogus without EDE or reason: %+v", r)
			}
		case Insecure, Indeterminate:
			if r.Reason == "" {
				t.Fatalf("%v without reason", r.Security)
			}
		default:
			t.Fatalf("verdict %d", r.Security)
		}
	})
}

// TestWriteFuzzCorpus writes the seeds of FuzzValidate to testdata (run with
// LJDNS_WRITE_CORPUS=1 after changing the world; the files are committed).
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("LJDNS_WRITE_CORPUS") == "" {
		t.Skip("set LJDNS_WRITE_CORPUS=1 to rewrite testdata/fuzz/FuzzValidate")
	}
	w := stdWorld(t)
	dir := filepath.Join("testdata", "fuzz", "FuzzValidate")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range fuzzSeeds {
		a, _ := w.fetch(context.Background(), wire(t, s.name), s.qtype)
		b := a.Bytes()
		// Seeds come whole and cut short, the commonest malformation.
		for j, cut := range [][]byte{b, b[:len(b)*2/3]} {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n[]byte(%q)\n", cut, []byte(nil))
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d-%d", i, j)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

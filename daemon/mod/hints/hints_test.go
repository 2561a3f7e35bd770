package hints

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ljdns/daemon"
	"ljdns/internal/testnet"
)

func start(t *testing.T, layers ...daemon.Layer) netip.AddrPort {
	t.Helper()
	cfg := &daemon.Config{Layers: layers, Log: daemon.NewLogger(os.Stderr),
		Listen: []daemon.Listen{{Addr: netip.MustParseAddrPort("127.0.0.1:0")}}}
	s, err := daemon.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s.Addrs(daemon.KindDNS)[0]
}

const hostsFile = `# test hosts
198.18.0.10  host.hints.example h2.hints.example
2001:db9::10 host.hints.example
198.18.0.11  other.hints.example
`

// TestAgainstKresd: the same hints in kresd 5.6 and here give the same answers.
func TestAgainstKresd(t *testing.T) {
	testnet.Isolate(t)
	dir := t.TempDir()
	hf := filepath.Join(dir, "hosts")
	os.WriteFile(hf, []byte(hostsFile), 0o644)
	k := testnet.StartKresd(t, testnet.KresdConfig{Config: `
hints.add_hosts('` + hf + `')
hints.set('set.hints.example 198.19.0.1')
hints.set('set.hints.example 198.19.0.2')
hints['sugar.hints.example'] = '198.19.0.3'
hints.set('gone.hints.example 198.19.0.4')
hints.del('gone.hints.example')
hints.ttl(300)
`})
	h := New()
	if err := h.AddHosts(hf); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"set.hints.example 198.19.0.1", "set.hints.example 198.19.0.2", "sugar.hints.example 198.19.0.3", "gone.hints.example 198.19.0.4"} {
		if err := h.Set(s); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := h.Del("gone.hints.example"); !ok || err != nil {
		t.Fatal("del", ok, err)
	}
	h.SetTTL(300)
	ours := start(t, h)
	corpus, _ := testnet.ParseCorpus(`
host.hints.example A
HOST.hints.example AAAA
host.hints.example MX
h2.hints.example A
h2.hints.example AAAA
set.hints.example A
sugar.hints.example A
10.0.18.198.in-addr.arpa PTR
11.0.18.198.in-addr.arpa PTR
0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.9.b.d.0.1.0.0.2.ip6.arpa PTR
2.0.19.198.in-addr.arpa PTR
`)
	if diffs := testnet.Compare(k.Addrs[0], ours, corpus, testnet.CompareOptions{}); len(diffs) > 0 {
		t.Errorf("answers differ from kresd's:\n%s", testnet.Report(diffs))
	}
}

func TestAPI(t *testing.T) {
	h := New()
	h.Set("a.example 192.0.2.1")
	h.Set("a.example 2001:db8::1")
	if got := h.Get("A.example."); len(got) != 2 || got[0] != "192.0.2.1" {
		t.Errorf("Get: %v", got)
	}
	if ok, _ := h.Del("a.example 192.0.2.1"); !ok || len(h.Get("a.example")) != 1 {
		t.Errorf("Del addr: %v", h.Get("a.example"))
	}
	if err := h.Set("bad"); err == nil {
		t.Error("bad spec accepted")
	}
	if err := h.Set("x.example not-an-ip"); err == nil {
		t.Error("bad address accepted")
	}
	if err := h.SetRoot(map[string][]string{"A.root-servers.net.": {"198.41.0.4"}}); err != nil || h.Root()["a.root-servers.net."][0] != "198.41.0.4" {
		t.Errorf("root: %v %v", err, h.Root())
	}
	if len(h.All()) != 1 {
		t.Errorf("All: %v", h.All())
	}
}

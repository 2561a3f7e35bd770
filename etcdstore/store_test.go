package etcdstore

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"ljdns/authority"
	"ljdns/internal/etcdtest"
)

const testZone = `$ORIGIN example.com.
$TTL 3600
@ IN SOA ns1 hostmaster 2024010101 7200 3600 1209600 300
@ NS ns1
ns1 A 192.0.2.53
www A 192.0.2.1
www A 192.0.2.2
www AAAA 2001:db8::1
mail MX 10 www
txt TXT "hello world" "two"
sub NS ns.sub
ns.sub A 192.0.2.99
*.wild A 192.0.2.7
odd TYPE65000 \# 3 010203
`

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func testStore(t *testing.T) *Store {
	c := etcdtest.Start(t, 1)
	return New(c.Client(t), fmt.Sprintf("/t/%s/", t.Name()))
}

func TestPushGetEdit(t *testing.T) {
	s := testStore(t)
	res, err := s.Push(ctx(t), "Example.COM", []byte(testZone), "test.zone")
	if err != nil {
		t.Fatal(err)
	}
	if res.Sets != 11 || res.Serial != 2024010101 {
		t.Errorf("push: %+v", res)
	}
	var out bytes.Buffer
	if _, err := s.Get(ctx(t), "example.com", &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "example.com. 3600 IN SOA ") {
		t.Errorf("dump does not start with the SOA:\n%s", out.String())
	}
	// the dump reads back to the same zone
	a, _ := authority.ParseZone("example.com.", strings.NewReader(testZone), "a")
	b, err := authority.ParseZone("example.com.", bytes.NewReader(out.Bytes()), "b")
	if err != nil {
		t.Fatalf("dump does not parse: %v\n%s", err, out.String())
	}
	if a.Serial() != b.Serial() {
		t.Errorf("serial %d != %d", a.Serial(), b.Serial())
	}
	for _, want := range []string{"www.example.com. 3600 IN A 192.0.2.1\n", "odd.example.com. 3600 IN TYPE65000 \\# 3 010203\n",
		`txt.example.com. 3600 IN TXT "hello world" "two"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dump lacks %q:\n%s", want, out.String())
		}
	}
	er, err := s.Edit(ctx(t), "example.com.", "add new 300 A 192.0.2.10\ndel www A 192.0.2.2\ndel mail\n")
	if err != nil {
		t.Fatal(err)
	}
	if er.Serial != 2024010102 {
		t.Errorf("serial after edit %d", er.Serial)
	}
	out.Reset()
	s.Get(ctx(t), "example.com", &out)
	dump := out.String()
	if !strings.Contains(dump, "new.example.com. 300 IN A 192.0.2.10") || strings.Contains(dump, "192.0.2.2\n") ||
		strings.Contains(dump, "MX") || !strings.Contains(dump, "2024010102") {
		t.Errorf("after edit:\n%s", dump)
	}
	for _, bad := range []string{"del @ SOA", "add www CNAME x", "add other.net. A 1.2.3.4", "frob x", "add x A notanip"} {
		if _, err := s.Edit(ctx(t), "example.com", bad); err == nil {
			t.Errorf("edit %q: no error", bad)
		}
	}
	if _, err := s.Edit(ctx(t), "nosuch.example", "add x A 1.2.3.4"); err == nil {
		t.Error("edit of a missing zone: no error")
	}
}

// TestPushStaged: a push writes its batches under a new generation; until
// the switch, the zone read is the old one, and afterwards no key of the
// old generation (nor of an abandoned push) is left.
func TestPushStaged(t *testing.T) {
	s := testStore(t)
	if _, err := s.Push(ctx(t), "example.com", []byte(testZone), "v1"); err != nil {
		t.Fatal(err)
	}
	// an abandoned push: staged keys of a generation never switched to
	s.Client.Put(ctx(t), s.DataPrefix("example.com.", "0000000000000001-deadbeef")+"www.example.com. A", "x")
	var big strings.Builder
	big.WriteString(strings.Replace(testZone, "2024010101", "2024010199", 1))
	for i := 0; i < 600; i++ {
		fmt.Fprintf(&big, "h%d A 10.0.%d.%d\n", i, i/256, i%256)
	}
	s.MaxOps = 50
	seen := 0
	s.Batch = func(n int) {
		seen = n
		zd, _, err := s.Zone(ctx(t), "example.com")
		if err != nil {
			t.Fatal(err)
		}
		if len(zd.Sets) != 11 {
			t.Errorf("batch %d: the zone read has %d sets, want the old 11", n, len(zd.Sets))
		}
	}
	res, err := s.Push(ctx(t), "example.com", []byte(big.String()), "v2")
	if err != nil {
		t.Fatal(err)
	}
	if res.Batches != 13 || seen != 13 {
		t.Errorf("batches %d (hook saw %d), want 13", res.Batches, seen)
	}
	r, _ := s.Client.Get(ctx(t), s.dataRoot("example.com."), prefixOpt()...)
	for _, kv := range r.Kvs {
		if k, _ := s.ParseKey(string(kv.Key)); k.Gen != res.Gen {
			t.Errorf("left over: %s", kv.Key)
		}
	}
	if len(r.Kvs) != 611 {
		t.Errorf("%d keys, want 611", len(r.Kvs))
	}
	// byte limit: a small MaxBytes splits too
	s.MaxOps, s.MaxBytes, s.Batch = 128, 4096, nil
	res, err = s.Push(ctx(t), "example.com", []byte(big.String()), "v3")
	if err != nil || res.Batches < 5 {
		t.Errorf("push with 4 KiB requests: %+v %v", res, err)
	}
}

func TestFollower(t *testing.T) {
	s := testStore(t)
	if _, err := s.Push(ctx(t), "example.com", []byte(testZone), "v1"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	served := map[string]*authority.Zone{}
	changed := make(chan struct{}, 100)
	f := &Follower{Store: s, Zone: func(o string, z *authority.Zone) {
		mu.Lock()
		served[o] = z
		mu.Unlock()
		changed <- struct{}{}
	}, Remove: func(o string) {
		mu.Lock()
		delete(served, o)
		mu.Unlock()
		changed <- struct{}{}
	}, Logf: t.Logf}
	c, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.Run(c)
	<-f.Loaded()
	serial := func() uint32 {
		mu.Lock()
		defer mu.Unlock()
		if z := served["example.com."]; z != nil {
			return z.Serial()
		}
		return 0
	}
	wait := func(want uint32) {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for serial() != want {
			select {
			case <-changed:
			case <-deadline:
				t.Fatalf("serial %d, want %d", serial(), want)
			}
		}
	}
	wait(2024010101)
	if _, err := s.Edit(ctx(t), "example.com", "add x A 192.0.2.3"); err != nil {
		t.Fatal(err)
	}
	wait(2024010102)
	if _, err := s.Push(ctx(t), "example.com", []byte(strings.Replace(testZone, "2024010101", "7", 1)), "v2"); err != nil {
		t.Fatal(err)
	}
	wait(7)
	if st := f.Stats(); st.RRsets != 11 || st.Zones != 1 || !st.Connected {
		t.Errorf("stats %+v", st)
	}
	if err := s.Delete(ctx(t), "example.com"); err != nil {
		t.Fatal(err)
	}
	wait(0)
}

func prefixOpt() []clientv3.OpOption { return []clientv3.OpOption{clientv3.WithPrefix()} }

package serve

import (
	"fmt"
	"io"
	nethttp "net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
	"ljdns/dnsmsg"
	"ljdns/internal/etcdtest"
	"ljdns/internal/testnet"
)

// TestEtcdzoneBinding: modules = { etcdzone = {...} } serves a zone pushed
// from Lua (etcdzone.push_text), an edit from Lua (etcdzone.edit) reaches
// the answers through the watch, etcdzone.get dumps the zone, and
// etcdzone.status() reports the connection and the revision.
func TestEtcdzoneBinding(t *testing.T) {
	c := etcdtest.Start(t, 1)
	ep := c.Endpoints()[0]
	r := newRig(t, 2, `modules = { etcdzone = { endpoints = {'`+ep+`'}, prefix = '/t/' } }
assert(etcdzone.push_text('example.test', [[`+zonefileTestZone+`]]))`, nil)
	waitA := func(want string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			m := r.query(t, "www.example.test", dns.TypeA, 1)
			if len(m.Answer) == 1 && m.Answer[0].(*dns.A).A.String() == want && m.Authoritative {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("www.example.test: %v, want %s", m, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitA("192.0.2.10")
	if got := r.eval(0, "return etcdzone.edit('example.test', 'del www A 192.0.2.10\\nadd www A 192.0.2.12')"); got != "2" {
		t.Fatalf("edit: %q", got)
	}
	waitA("192.0.2.12")
	if got := r.eval(0, "return etcdzone.get('example.test')"); !strings.Contains(got, "www.example.test. 300 IN A 192.0.2.12") {
		t.Fatalf("get: %q", got)
	}
	if got := r.eval(0, "local s = etcdzone.status() return tostring(s.connected) .. ' ' .. s.zones .. ' ' .. s.rrsets"); got != "true 1 4" {
		t.Fatalf("status: %q", got)
	}
	if got := r.eval(0, "return select(2, etcdzone.edit('example.test', 'add www CNAME x'))"); !strings.Contains(got, "CNAME and other data") {
		t.Fatalf("bad edit: %q", got)
	}
}

// TestEtcdzoneMetrics: the module's counters reach /metrics of the http
// module (etcdzone.connected 1, the zone count), through the shared stats.
func TestEtcdzoneMetrics(t *testing.T) {
	testnet.Isolate(t)
	c := etcdtest.Start(t, 1)
	r := newRig(t, 1, `
net.listen('127.0.0.1', 0, {kind = 'webmgmt'})
modules.load('http')
http.config({tls = false})
modules = { etcdzone = { endpoints = {'`+c.Endpoints()[0]+`'}, prefix = '/m/' } }
assert(etcdzone.push_text('example.test', [[`+zonefileTestZone+`]]))`, nil)
	if err := r.srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer r.srv.Shutdown(t.Context())
	addrs := r.srv.Addrs(daemon.KindWebmgmt)
	if len(addrs) == 0 {
		t.Fatal("no webmgmt listener")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := nethttp.Get("http://" + addrs[0].String() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body := string(b)
		if strings.Contains(body, "etcdzone_connected") && regexp.MustCompile(`(?m)^\S*etcdzone_connected\S* 1$`).MatchString(body) &&
			regexp.MustCompile(`(?m)^\S*etcdzone_zones\S* 1$`).MatchString(body) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics without etcdzone_connected 1 and etcdzone_zones 1:\n%s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestEtcdzoneTransferOptions: the module's acl and tsig options (who may
// transfer the zones) are read as the zonefile module's: addresses and
// prefixes, kdig's 'name:alg:base64' keys; a bad entry is an error naming it.
func TestEtcdzoneTransferOptions(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	get := func(src string) lua.LValue {
		t.Helper()
		if err := L.DoString("return " + src); err != nil {
			t.Fatal(err)
		}
		v := L.Get(-1)
		L.Pop(1)
		return v
	}
	o, _, err := etcdzoneConfig(get(`{endpoints = {'127.0.0.1:2379'}, acl = {'127.0.0.5', '10.0.0.0/8'},
		tsig = {'xfr-key:hmac-sha256:c2VjcmV0LXNlY3JldC1zZWNyZXQ='}}`))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(o.ACL) != "[127.0.0.5/32 10.0.0.0/8]" || len(o.Keys) != 1 || (&dnsmsg.Name{Wire: o.Keys[0].Name}).String() != "xfr-key." {
		t.Fatalf("acl %v keys %v", o.ACL, o.Keys)
	}
	if o, _, err := etcdzoneConfig(get(`{endpoints = {'127.0.0.1:2379'}}`)); err != nil || o.ACL != nil || o.Keys != nil {
		t.Fatalf("defaults: %v %v %v", o.ACL, o.Keys, err)
	}
	for _, bad := range []string{`{endpoints = {'x'}, acl = {'nonsense'}}`, `{endpoints = {'x'}, tsig = {'nokey'}}`} {
		if _, _, err := etcdzoneConfig(get(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		} else {
			t.Log(err)
		}
	}
}

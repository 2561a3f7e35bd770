package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ljdns/internal/testnet"
)

const diffZone = `$ORIGIN zone.example.
$TTL 3600
@	SOA	ns1 hostmaster 1 7200 3600 1209600 300
@	NS	ns1
ns1	A	127.0.0.2
www	A	192.0.2.1
www	AAAA	2001:db8::1
alias	CNAME	www
alias2	CNAME	alias
txt	TXT	"hello" "world"
mx	MX	10 www
`

const diffRPZ = `$ORIGIN rpz.local.
$TTL 60
@	SOA	ns.rpz.local. hm.rpz.local. 1 3600 600 86400 60
	NS	ns.rpz.local.
blocked.example		CNAME	.
empty.example		CNAME	*.
*.wild.example		CNAME	*.
drop.example		CNAME	rpz-drop.
local.example		A	192.0.2.77
local.example		A	192.0.2.78
`

// diffConfig is the configuration both kresd 5.6 and ljdns serve run in
// TestServeAgainstKresd (after the rig's preamble): hints, policy rules
// of every answering kind, an RPZ file and forwarding to knotd.
func diffConfig(knot, rpz string) string {
	return fmt.Sprintf(`
option('ALLOW_LOCAL', true)
hints.set('host.lan 192.0.2.10')
hints.set('host.lan 192.0.2.11')
hints['v6.lan'] = '2001:db8::10'
hints.use_nodata(true)
policy.add(policy.suffix(policy.DENY, policy.todnames({'deny.example'})))
policy.add(policy.suffix(policy.DENY_MSG('blocked by the test'), {todname('msg.example')}))
policy.add(policy.suffix(policy.REFUSE, {todname('refuse.example')}))
policy.add(policy.suffix(policy.DROP, {todname('drop2.example')}))
policy.add(policy.suffix(policy.TC, {todname('tc.example')}))
policy.add(policy.domains(policy.ANSWER({[kres.type.A] = {rdata = kres.str2ip('192.0.2.55'), ttl = 300}}, true), {todname('answer.example')}))
policy.add(policy.domains(policy.ANSWER({[kres.type.AAAA] = {rdata = kres.str2ip('2001:db8::55'), ttl = 300}}), {todname('answer6.example')}))
policy.add(policy.rpz(policy.DENY, '%s', false))
policy.add(policy.suffix(policy.FORWARD('%s'), {todname('zone.example')}))
`, rpz, knot)
}

// TestServeAgainstKresd runs kresd 5.6 and `ljdns serve` with the same
// configuration (hints, policy filters and actions, an RPZ file,
// policy.FORWARD to a loopback knotd) and compares their answers to one
// corpus with the rig's comparator (TTLs within 5 s: both cache). Every
// difference fails the test; none is kept.
func TestServeAgainstKresd(t *testing.T) {
	testnet.Isolate(t)
	testnet.Need(t, "kresd", "knotd")
	dir := t.TempDir()
	zf := filepath.Join(dir, "zone.example.zone")
	rpz := filepath.Join(dir, "rpz.zone")
	os.WriteFile(zf, []byte(diffZone), 0o644)
	os.WriteFile(rpz, []byte(diffRPZ), 0o644)
	knot := testnet.StartKnot(t, testnet.KnotConfig{Zones: []testnet.Zone{{Name: "zone.example.", File: zf}}})
	body := diffConfig(fmt.Sprintf("%s@%d", knot.Addr().Addr(), knot.Addr().Port()), rpz)
	k := testnet.StartKresd(t, testnet.KresdConfig{Config: body})

	addr := testnet.FreeAddr(t)
	run := t.TempDir()
	// the rig's kresd preamble, then the same body
	cfg := fmt.Sprintf(`net.listen('%s', %d, { kind = 'dns' })
cache.open(64 * MB, 'lmdb://%s')
modules.load('hints > iterate')
hints.root({['root.rig.invalid.'] = {'127.0.0.1'}})
trust_anchors.remove('.')
`, addr.Addr(), addr.Port(), run) + body
	cfgPath := filepath.Join(run, "config")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, run, []string{"LJDNS_OUTGOING_ALLOW=" + testnet.OutgoingAllow}, "-c", cfgPath)
	waitDNS(t, addr.String())

	corpus, err := testnet.ParseCorpus(`
host.lan A
host.lan AAAA
HOST.lan A
v6.lan AAAA
v6.lan A
x.deny.example A
deny.example MX
msg.example A
refuse.example A
drop2.example A
tc.example A
tc.example A +tcp
answer.example A
answer.example AAAA
answer6.example AAAA
blocked.example A
empty.example A
a.b.wild.example A
drop.example A
local.example A
local.example AAAA
www.zone.example A
www.zone.example AAAA
alias.zone.example A
alias2.zone.example A
txt.zone.example TXT
mx.zone.example MX
nonexistent.zone.example A
www.zone.example SRV
zone.example SOA
zone.example NS
www.zone.example A +tcp
www.zone.example A +do
www.zone.example A
alias2.zone.example A
nonexistent.zone.example A
`)
	if err != nil {
		t.Fatal(err)
	}
	diffs := testnet.Compare(addr, k.Addr(), corpus, testnet.CompareOptions{TTLTolerance: 5, Timeout: 5 * time.Second})
	var unexpected []testnet.Diff
	kept := map[string]int{}
	for _, d := range diffs {
		if reason := keptDifference(d); reason != "" {
			kept[reason]++
			continue
		}
		unexpected = append(unexpected, d)
	}
	for reason, n := range kept {
		t.Logf("kept difference (%d): %s", n, reason)
	}
	if len(unexpected) > 0 {
		t.Errorf("%d differences from kresd 5.6:\n%s", len(unexpected), testnet.Report(unexpected))
	}
	t.Logf("%d queries compared with kresd 5.6 (hints, policy, RPZ, FORWARD to knotd)", len(corpus))
}

// keptDifference names the reason of a difference from kresd that ljdns
// serve keeps (README, "differs from kresd"), or "".
func keptDifference(d testnet.Diff) string {
	switch {
	case d.What == "additional" && d.B == "(none)":
		// kresd answers with the records it resolved and drops the
		// upstream's additional section; ljdns's forwarder passes it on
		return "the forwarded answer keeps the upstream's additional records (kresd drops them)"
	case strings.HasPrefix(d.What, "answer") && d.Query.Name == "zone.example." && strings.HasSuffix(d.A, "SOA TTL 3600") && strings.HasSuffix(d.B, "SOA TTL 300"):
		// kresd answers the SOA query from the SOA it cached with a
		// negative answer (TTL min(TTL, MINIMUM) = 300, RFC 2308); ljdns's
		// cache keeps negative entries apart and forwards the query
		return "an SOA query after a negative answer of the zone: the upstream's TTL (kresd: the negative TTL of its cached SOA)"
	}
	return ""
}

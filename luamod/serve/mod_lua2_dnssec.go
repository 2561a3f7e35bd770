package serve

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/authority"
	"ljdns/dnsmsg"
	"ljdns/dnssec"
)

// Live signing of lua2 zones (pdns's dns_dnssec = true): a zone whose
// dns_get_domain_keys gives keys, and whose metadata does not say PRESIGNED,
// is signed as authority.BackendDNSSEC describes. PUBLISH-CDS (digest
// types) and PUBLISH-CDNSKEY ("1") metadata publish CDS and CDNSKEY of the
// published keys with the SEP flag. Keys are asked again after
// lua2KeyCacheTTL (pdns dnssec-key-cache-ttl, 30 s); a zone keeps its
// Signer, and so its signature cache, while its active keys stay the same.

const lua2KeyCacheTTL = 30 * time.Second

// lua2Keys is the module's key cache: zone apex -> keys.
type lua2Keys struct {
	mu sync.Mutex
	m  map[string]*lua2ZoneKeys
}

type lua2ZoneKeys struct {
	at     time.Time
	sum    string // the active keys' contents and flags (the Signer is kept while equal)
	keys   *authority.BackendKeys
	warned bool
}

// Keys asks the script for the zone's keys (cached for 30 s).
func (b *lua2Backend) Keys(apex []byte, id int64) (*authority.BackendKeys, error) {
	st := b.st
	m := st.m
	if !st.dnssec || st.fns["dns_get_domain_keys"] == nil {
		return nil, nil
	}
	now := time.Now()
	m.keys.mu.Lock()
	e := m.keys.m[string(apex)]
	m.keys.mu.Unlock()
	if e != nil && now.Sub(e.at) < lua2KeyCacheTTL {
		return e.keys, nil
	}
	if b.perCall {
		st.mu.Lock()
		defer st.mu.Unlock()
	}
	ne, err := st.zoneKeys(apex, e)
	if err != nil {
		return nil, err
	}
	ne.at = now
	m.keys.mu.Lock()
	if m.keys.m == nil {
		m.keys.m = map[string]*lua2ZoneKeys{}
	}
	m.keys.m[string(apex)] = ne
	m.keys.mu.Unlock()
	return ne.keys, nil
}

// metadata returns the values of one metadata kind of the zone.
func (st *lua2State) metadata(apex []byte, kind string) ([]string, error) {
	f := st.fns["dns_get_domain_metadata"]
	if f == nil {
		return nil, nil
	}
	rets, err := st.call("dns_get_domain_metadata", f, 1, pushDN(st.L, apex), lua.LString(kind))
	if err != nil {
		return nil, err
	}
	t, ok := rets[0].(*lua.LTable)
	if !ok {
		return nil, nil // false: none
	}
	var out []string
	t.ForEach(func(_, v lua.LValue) { out = append(out, v.String()) })
	return out, nil
}

// zoneKeys reads the zone's keys from the script (old: the entry before,
// whose Signer is kept when the active keys did not change).
func (st *lua2State) zoneKeys(apex []byte, old *lua2ZoneKeys) (*lua2ZoneKeys, error) {
	e := &lua2ZoneKeys{}
	if old != nil {
		e.warned = old.warned
	}
	pre, err := st.metadata(apex, "PRESIGNED")
	if err != nil {
		return nil, err
	}
	if len(pre) > 0 && pre[0] == "1" {
		return e, nil // served as the script gives it
	}
	n3, err := st.metadata(apex, "NSEC3PARAM")
	if err != nil {
		return nil, err
	}
	if len(n3) > 0 && !e.warned {
		e.warned = true
		st.m.log.Warnf("system", "lua2: zone %s has NSEC3PARAM metadata: NSEC3 is not implemented, its denial uses NSEC", dnText(apex))
	}
	rets, err := st.call("dns_get_domain_keys", st.fns["dns_get_domain_keys"], 1, pushDN(st.L, apex))
	if err != nil {
		return nil, err
	}
	t, ok := rets[0].(*lua.LTable)
	if !ok {
		return e, nil // false: no keys
	}
	var active []*dnssec.Key
	var published [][]byte
	var seps []*dnssec.Key // published keys with the SEP flag (CDS, CDNSKEY)
	var sum strings.Builder
	var bad error
	t.ForEach(func(_, v lua.LValue) {
		kt, ok := v.(*lua.LTable)
		if !ok || bad != nil {
			return
		}
		flags, _ := kt.RawGetString("flags").(lua.LNumber)
		content := kt.RawGetString("content").String()
		isActive := lua2Bool(kt.RawGetString("active"), false)
		isPublished := lua2Bool(kt.RawGetString("published"), true)
		k := dnssec.NewKey()
		if err := k.SetPrivateKey([]byte(content)); err != nil {
			bad = fmt.Errorf("dns_get_domain_keys(%s): key %s: %v", dnText(apex), kt.RawGetString("id").String(), err)
			return
		}
		k.Flags = uint16(flags)
		k.Owner = dnsmsg.LowerName(apex)
		if isPublished {
			published = append(published, k.RData())
			if k.Flags&1 != 0 {
				seps = append(seps, k)
			}
		}
		if isActive {
			active = append(active, k)
			fmt.Fprintf(&sum, "%d\x00%s\x00", k.Flags, content)
		}
	})
	if bad != nil {
		return nil, bad
	}
	if len(active) == 0 {
		return e, nil
	}
	e.sum = sum.String()
	var signer *authority.Signer
	if old != nil && old.keys != nil && old.sum == e.sum {
		signer = old.keys.Signer
	} else {
		signer, err = authority.NewSigner(dnText(apex), active, authority.SignOptions{})
		if err != nil {
			return nil, fmt.Errorf("dns_get_domain_keys(%s): %v", dnText(apex), err)
		}
	}
	e.keys = &authority.BackendKeys{Signer: signer, DNSKEY: published}
	cds, err := st.metadata(apex, "PUBLISH-CDS")
	if err != nil {
		return nil, err
	}
	if len(cds) > 0 {
		for _, k := range seps {
			for _, f := range strings.FieldsFunc(cds[0], func(r rune) bool { return r == ',' || r == ' ' }) {
				var d uint8
				if _, err := fmt.Sscan(f, &d); err != nil {
					return nil, fmt.Errorf("zone %s: PUBLISH-CDS %q: %v", dnText(apex), cds[0], err)
				}
				rd, err := k.DS(d)
				if err != nil {
					return nil, fmt.Errorf("zone %s: PUBLISH-CDS %q: %v", dnText(apex), cds[0], err)
				}
				e.keys.CDS = append(e.keys.CDS, rd)
			}
		}
	}
	cdnskey, err := st.metadata(apex, "PUBLISH-CDNSKEY")
	if err != nil {
		return nil, err
	}
	if len(cdnskey) > 0 && cdnskey[0] == "1" {
		for _, k := range seps {
			e.keys.CDNSKEY = append(e.keys.CDNSKEY, k.RData())
		}
	}
	return e, nil
}

// lua2Bool reads a boolean that may also be an integer (pdns accepts both).
func lua2Bool(v lua.LValue, def bool) bool {
	switch x := v.(type) {
	case lua.LBool:
		return bool(x)
	case lua.LNumber:
		return x != 0
	}
	return def
}

// BeforeAndAfter asks dns_get_before_and_after_names_absolute with qname
// made relative to the zone, and makes its names absolute again.
func (b *lua2Backend) BeforeAndAfter(apex []byte, id int64, qname []byte) (before, after []byte, err error) {
	st := b.st
	f := st.fns["dns_get_before_and_after_names_absolute"]
	if f == nil {
		return nil, nil, nil
	}
	if len(qname) < len(apex) || !bytes.EqualFold(qname[len(qname)-len(apex):], apex) {
		return nil, nil, fmt.Errorf("%s is not in zone %s", dnText(qname), dnText(apex))
	}
	rel := append(append([]byte{}, qname[:len(qname)-len(apex)]...), 0)
	if b.perCall {
		st.mu.Lock()
		defer st.mu.Unlock()
	}
	rets, err := st.call("dns_get_before_and_after_names_absolute", f, 1, lua.LNumber(id), pushDN(st.L, rel))
	if st.m.opt.queryLogging {
		st.m.log.Noticef("system", "lua2: dns_get_before_and_after_names_absolute(%d, %s) -> %v", id, dnText(rel), lua2Show(rets, err))
	}
	if err != nil {
		return nil, nil, err
	}
	t, ok := rets[0].(*lua.LTable)
	if !ok {
		return nil, nil, nil
	}
	n := 0
	var names [2][]byte
	var bad error
	t.ForEach(func(k, v lua.LValue) {
		n++
		var w []byte
		switch x := v.(type) {
		case lua.LString:
			w, bad = parseDN(string(x))
		case *lua.LUserData:
			if d, ok := x.Value.(*dnName); ok && d.w != nil {
				w = d.w
			}
		}
		if w == nil && bad == nil {
			bad = fmt.Errorf("key %s is a %s", k.String(), v.Type())
		}
		switch k.String() {
		case "before":
			names[0] = w
		case "after":
			names[1] = w
		}
	})
	if n != 3 || bad != nil || names[0] == nil || names[1] == nil {
		if bad == nil {
			bad = errors.New("want a table of unhashed, before and after")
		}
		return nil, nil, fmt.Errorf("dns_get_before_and_after_names_absolute: %v", bad)
	}
	abs := func(w []byte) []byte {
		return append(append([]byte{}, w[:len(w)-1]...), apex...)
	}
	return abs(names[0]), abs(names[1]), nil
}

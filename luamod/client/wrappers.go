package client

import (
	"os"
	"regexp"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsclient"
	"ljdns/dnsmsg"
	"ljdns/luabind"
	"ljdns/validator"
)

// client.cache(c [, {max_entries, max_ttl, negative_ttl, serve_stale, prefetch}])
func clientCache(L *lua.LState) int {
	up := upArg(L, 1)
	o := optsArg(L, 2, "dns.client.cache")
	var co dnsclient.CacheOptions
	if n, ok := o.count("max_entries"); ok {
		co.MaxEntries = max(n, 1)
	}
	if t, ok := o.seconds("max_ttl"); ok {
		co.MaxTTL = max(t, time.Second)
	}
	if t, ok := o.seconds("negative_ttl"); ok {
		co.NegativeTTL = max(t, time.Second)
	}
	switch v := o.get("serve_stale"); v := v.(type) {
	case *lua.LNilType:
	case lua.LBool:
		if v {
			co.ServeStale = defaultServeStale
		}
	case lua.LNumber:
		if v < 0 {
			o.bad("serve_stale", "true, false or seconds >= 0", v)
		}
		co.ServeStale = time.Duration(float64(v) * float64(time.Second))
	default:
		o.bad("serve_stale", "true, false or seconds >= 0", v)
	}
	switch v := o.get("prefetch"); v := v.(type) {
	case *lua.LNilType:
	case lua.LBool:
		co.Prefetch = bool(v)
	case lua.LNumber:
		if v <= 0 || v >= 1 {
			o.bad("prefetch", "a boolean or the share of the lifetime in (0, 1)", v)
		}
		co.Prefetch, co.PrefetchRatio = true, float64(v)
	default:
		o.bad("prefetch", "a boolean or the share of the lifetime in (0, 1)", v)
	}
	o.done()
	c, err := dnsclient.NewCache(up.t, co)
	if err != nil {
		return made(L, nil, err, "", false)
	}
	return made(L, c, nil, "cache over "+up.desc, up.validate)
}

// defaultServeStale is serve_stale = true: RFC 8767 suggests 1 to 3 days.
const defaultServeStale = 24 * time.Hour

// client.tsig(c, 'alg:name:BASE64' | 'name:alg:BASE64' | dns.tsig)
func clientTSIG(L *lua.LState) int {
	up := upArg(L, 1)
	var key *dnsmsg.TSIG
	switch v := L.Get(2).(type) {
	case lua.LString:
		k, err := dnsmsg.ParseTSIGKey(string(v))
		if err != nil {
			return luabind.Fail(L, "dns.client.tsig: %v", strings.TrimPrefix(err.Error(), "dns: "))
		}
		key = k
	default:
		k, ok := luabind.As[*dnsmsg.TSIG](v)
		if !ok {
			L.ArgError(2, "TSIG key ('alg:name:BASE64') or dns.tsig expected, got "+luabind.TypeName(v))
		}
		key = k
	}
	t, err := dnsclient.NewTSIG(up.t, key)
	if err != nil {
		return made(L, nil, err, "", false)
	}
	name := (&dnsmsg.Name{Wire: key.Name}).String()
	return made(L, t, nil, "tsig "+name+" over "+up.desc, up.validate)
}

// client.redundant({c1, c2, ...} [, {probe_ratio}])
func clientRedundant(L *lua.LState) int {
	list := L.CheckTable(1)
	var ups []dnsclient.Transport
	var descs []string
	validate := false
	for i := 1; i <= list.Len(); i++ {
		c, ok := luabind.As[*Client](list.RawGetInt(i))
		if !ok {
			L.ArgError(1, "list of dns.client objects expected, item "+lua.LNumber(i).String()+" is "+luabind.TypeName(list.RawGetInt(i)))
		}
		if c.closed.Load() {
			L.ArgError(1, "item "+lua.LNumber(i).String()+" ("+c.desc+") is closed")
		}
		ups = append(ups, c.t)
		descs = append(descs, c.desc)
		validate = validate || c.validate
	}
	if len(ups) == 0 {
		L.ArgError(1, "at least one upstream client expected")
	}
	o := optsArg(L, 2, "dns.client.redundant")
	var ro dnsclient.RedundantOptions
	if r, ok := o.number("probe_ratio", 0, 1); ok {
		ro.ProbeRatio = r
		if r == 0 {
			ro.ProbeRatio = -1
		}
	}
	o.done()
	r, err := dnsclient.NewRedundant(ups, ro)
	if err != nil {
		return made(L, nil, err, "", false)
	}
	return made(L, r, nil, "redundant {"+strings.Join(descs, ", ")+"}", validate)
}

// anchorLine tells a trust anchor written out (zone-file lines of DS or
// DNSKEY records) from the name of a file holding them.
var anchorLine = regexp.MustCompile(`(?i)\s(DS|DNSKEY)\s`)

// client.validator(c [, {trust_anchors, nta, iterations_cap}])
func clientValidator(L *lua.LState) int {
	up := upArg(L, 1)
	o := optsArg(L, 2, "dns.client.validator")
	var cfg validator.Config
	for _, a := range o.strings("trust_anchors") {
		if anchorLine.MatchString(a) || strings.Contains(a, "\n") {
			cfg.Anchors = append(cfg.Anchors, a)
		} else {
			cfg.AnchorFiles = append(cfg.AnchorFiles, a)
		}
	}
	cfg.NTA = o.strings("nta")
	if n, ok := o.count("iterations_cap"); ok {
		cfg.IterationsCap = max(n, 1) // validator.Config reads 0 as its default

	}
	o.done()
	if len(cfg.Anchors)+len(cfg.AnchorFiles) == 0 {
		return luabind.Fail(L, "dns.client.validator: no trust anchor: give trust_anchors (a file of DS or DNSKEY records, or the records themselves)")
	}
	for _, f := range cfg.AnchorFiles {
		if _, err := os.Stat(f); err != nil {
			return luabind.Fail(L, "dns.client.validator: trust anchor file: %v", err)
		}
	}
	v, err := validator.New(cfg)
	if err != nil {
		return luabind.Fail(L, "dns.client.validator: %v", err)
	}
	t, err := dnsclient.NewValidating(up.t, v)
	if err != nil {
		return made(L, nil, err, "", false)
	}
	return made(L, t, nil, "validator over "+up.desc, true)
}

// client.https(url [, {timeout, connect_timeout, idle_timeout, method, tls}])
func clientHTTPS(L *lua.LState) int {
	url := addrArg(L, 1)
	o := optsArg(L, 2, "dns.client.https")
	var ho dnsclient.HTTPSOptions
	if t, ok := o.seconds("timeout"); ok {
		ho.Timeout = max(t, time.Millisecond)
	}
	if t, ok := o.seconds("connect_timeout"); ok {
		ho.ConnectTimeout = max(t, time.Millisecond)
	}
	if t, ok := o.seconds("idle_timeout"); ok {
		ho.IdleTimeout = t
		if t == 0 {
			ho.IdleTimeout = -1
		}
	}
	if m, ok := o.str("method"); ok {
		switch strings.ToUpper(m) {
		case "GET":
			ho.GET = true
		case "POST":
		default:
			o.bad("method", "'GET' or 'POST'", lua.LString(m))
		}
	}
	ho.TLS = o.tlsOptions(url)
	o.done()
	h, err := dnsclient.NewHTTPS(url, ho)
	if err != nil {
		return made(L, nil, err, "", false)
	}
	return made(L, h, nil, "https "+h.URL(), false)
}

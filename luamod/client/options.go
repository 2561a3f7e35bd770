package client

import (
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/dnsclient"
	"ljdns/luabind"
	"ljdns/tlscreds"
)

// opts reads one options table of a constructor. Each getter marks its key
// as known; done raises on any key left unknown, so a misspelt option is
// an error instead of a silent default.
type opts struct {
	L     *lua.LState
	fn    string // "dns.client.dgram", for messages
	arg   int
	t     *lua.LTable // nil: no options
	known []string
}

// optsArg reads argument n: nil or a table.
func optsArg(L *lua.LState, n int, fn string) *opts {
	o := &opts{L: L, fn: fn, arg: n}
	switch v := L.Get(n).(type) {
	case *lua.LNilType:
	case *lua.LTable:
		o.t = v
	default:
		L.ArgError(n, "options table expected, got "+luabind.TypeName(v))
	}
	return o
}

// get returns the value of key (LNil when absent).
func (o *opts) get(key string) lua.LValue {
	o.known = append(o.known, key)
	if o.t == nil {
		return lua.LNil
	}
	return o.t.RawGetString(key)
}

func (o *opts) bad(key, want string, v lua.LValue) {
	o.L.RaiseError("%s: option %s must be %s, got %s", o.fn, key, want, luabind.TypeName(v))
}

// seconds reads a non-negative number of seconds; set reports presence.
func (o *opts) seconds(key string) (d time.Duration, set bool) {
	v := o.get(key)
	if v == lua.LNil {
		return 0, false
	}
	n, ok := v.(lua.LNumber)
	if !ok || n < 0 || math.IsNaN(float64(n)) || math.IsInf(float64(n), 0) {
		o.bad(key, "a number of seconds >= 0", v)
	}
	return time.Duration(float64(n) * float64(time.Second)), true
}

// count reads a non-negative integer; set reports presence.
func (o *opts) count(key string) (int, bool) {
	v := o.get(key)
	if v == lua.LNil {
		return 0, false
	}
	n, ok := v.(lua.LNumber)
	if !ok || n < 0 || n != lua.LNumber(math.Trunc(float64(n))) || n > math.MaxInt32 {
		o.bad(key, "an integer >= 0", v)
	}
	return int(n), true
}

// boolean reads a boolean; set reports presence.
func (o *opts) boolean(key string) (bool, bool) {
	v := o.get(key)
	if v == lua.LNil {
		return false, false
	}
	b, ok := v.(lua.LBool)
	if !ok {
		o.bad(key, "a boolean", v)
	}
	return bool(b), true
}

// number reads a number in [lo, hi]; set reports presence.
func (o *opts) number(key string, lo, hi float64) (float64, bool) {
	v := o.get(key)
	if v == lua.LNil {
		return 0, false
	}
	n, ok := v.(lua.LNumber)
	if !ok || float64(n) < lo || float64(n) > hi {
		o.bad(key, "a number in ["+lua.LNumber(lo).String()+", "+lua.LNumber(hi).String()+"]", v)
	}
	return float64(n), true
}

// str reads a string; set reports presence.
func (o *opts) str(key string) (string, bool) {
	v := o.get(key)
	if v == lua.LNil {
		return "", false
	}
	s, ok := v.(lua.LString)
	if !ok {
		o.bad(key, "a string", v)
	}
	return string(s), true
}

// strings reads a string or a list of strings.
func (o *opts) strings(key string) []string {
	v := o.get(key)
	switch v := v.(type) {
	case *lua.LNilType:
		return nil
	case lua.LString:
		return []string{string(v)}
	case *lua.LTable:
		var out []string
		for i := 1; i <= v.Len(); i++ {
			s, ok := v.RawGetInt(i).(lua.LString)
			if !ok {
				o.bad(key, "a list of strings", v.RawGetInt(i))
			}
			out = append(out, string(s))
		}
		return out
	}
	o.bad(key, "a string or a list of strings", v)
	return nil
}

// done raises on keys no getter asked for.
func (o *opts) done() {
	if o.t == nil {
		return
	}
	var unknown []string
	o.t.ForEach(func(k, _ lua.LValue) {
		s, ok := k.(lua.LString)
		if !ok || !slices.Contains(o.known, string(s)) {
			unknown = append(unknown, k.String())
		}
	})
	if len(unknown) > 0 {
		sort.Strings(unknown)
		known := slices.Clone(o.known)
		sort.Strings(known)
		o.L.RaiseError("%s: unknown option %s (options: %s)", o.fn, strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
}

// dgramOptions reads dgram's options: timeout, retries, udp_payload_size,
// cookies, max_parallel. Zero means "none" in Lua where the Go zero means
// "default", so those map to the Go negatives.
func (o *opts) dgramOptions() dnsclient.DgramOptions {
	var d dnsclient.DgramOptions
	if t, ok := o.seconds("timeout"); ok {
		d.Timeout = max(t, time.Millisecond)
	}
	if n, ok := o.count("retries"); ok {
		d.Retries = n
		if n == 0 {
			d.Retries = -1
		}
	}
	switch v := o.get("udp_payload_size"); v {
	case lua.LNil:
	case lua.LFalse:
		d.UDPPayloadSize = -1
	default:
		n, ok := v.(lua.LNumber)
		if !ok || n < 0 || n > 65535 {
			o.bad("udp_payload_size", "false or a size in [0, 65535] (0: no EDNS)", v)
		}
		d.UDPPayloadSize = int(n)
		if n == 0 {
			d.UDPPayloadSize = -1
		}
	}
	if on, ok := o.boolean("cookies"); ok {
		d.NoCookies = !on
	}
	if n, ok := o.count("max_parallel"); ok {
		d.MaxParallel = max(n, 1)
	}
	return d
}

// streamOptions reads the stream options; withTLS says whether tls is
// one of them.
func (o *opts) streamOptions(addr string, withTLS bool) dnsclient.StreamOptions {
	var s dnsclient.StreamOptions
	if t, ok := o.seconds("response_timeout"); ok {
		s.ResponseTimeout = max(t, time.Millisecond)
	}
	if t, ok := o.seconds("idle_timeout"); ok {
		s.IdleTimeout = t
		if t == 0 {
			s.IdleTimeout = -1
		}
	}
	if t, ok := o.seconds("connect_timeout"); ok {
		s.ConnectTimeout = max(t, time.Millisecond)
	}
	if n, ok := o.count("max_outstanding"); ok {
		s.MaxOutstanding = max(n, 1)
	}
	if on, ok := o.boolean("keepalive"); ok {
		s.NoKeepalive = !on
	}
	if withTLS {
		s.TLS = o.tlsOptions(addr)
	}
	return s
}

// tlsOptions reads the tls option: true, a table or a dns.tls.creds.
func (o *opts) tlsOptions(addr string) *dnsclient.TLSOptions {
	v := o.get("tls")
	switch v := v.(type) {
	case *lua.LNilType:
		return nil
	case lua.LBool:
		if !v {
			return nil
		}
		return &dnsclient.TLSOptions{}
	case *lua.LTable:
		t := &opts{L: o.L, fn: o.fn + " tls", t: v}
		to := &dnsclient.TLSOptions{}
		to.Hostname, _ = t.str("hostname")
		if f, ok := t.str("ca_file"); ok {
			to.CAFile = f
		}
		if f, ok := t.str("cafile"); ok {
			to.CAFile = f
		}
		to.Pins = t.strings("pins")
		t.done()
		return to
	case *lua.LUserData:
		if c, ok := v.Value.(*tlscreds.Creds); ok {
			peer := ""
			if ap, err := dnsclient.ParseAddr(addr, 853); err == nil {
				peer = ap.Addr().String()
			}
			return &dnsclient.TLSOptions{Config: c.ClientConfig(peer)}
		}
	}
	o.bad("tls", "true, a table {hostname, ca_file, pins} or dns.tls.creds", v)
	return nil
}

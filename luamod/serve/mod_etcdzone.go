package serve

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"

	"ljdns/daemon"
	"ljdns/daemon/mod/etcdzone"
	"ljdns/daemon/mod/stats"
	"ljdns/dnsmsg"
	"ljdns/etcdstore"
	"ljdns/tlscreds"
)

func init() { registerModuleBinding("etcdzone", openEtcdzone) }

// etcdzoneHolder is the etcdzone layer kept across reloads: the module
// (its etcd client, watch and zones) is made by config() and made again
// only when the endpoints, prefix or credentials change.
type etcdzoneHolder struct {
	mu  sync.Mutex // config and Close
	m   *etcdzone.Module
	key string
	cur atomic.Pointer[etcdzone.Module] // m, for the request path
}

func (h *etcdzoneHolder) Name() string { return "etcdzone" }

func (h *etcdzoneHolder) module() *etcdzone.Module { return h.cur.Load() }

// Begin answers from the zones once configured.
func (h *etcdzoneHolder) Begin(r *daemon.Request, s daemon.State) daemon.State {
	if m := h.module(); m != nil {
		return m.Begin(r, s)
	}
	return s
}

// Close stops the module (a configuration without etcdzone retired this one).
func (h *etcdzoneHolder) Close() error {
	h.mu.Lock()
	m := h.m
	h.m, h.key = nil, ""
	h.cur.Store(nil)
	h.mu.Unlock()
	if m != nil {
		return m.Close()
	}
	return nil
}

// openEtcdzone is the etcdzone module (issue 17):
//
//	modules = { etcdzone = { endpoints = {'127.0.0.1:2379'}, prefix = '/dns/',
//	    tls = {ca_file = 'ca.pem', cert_file = 'c.pem', key_file = 'k.pem', hostname = 'etcd'},
//	    username = 'u', password = 'p', wait = 5,
//	    acl = {'127.0.0.1', '10.0.0.0/8'}, tsig = {'xfr-key:hmac-sha256:BASE64'} } }
//
// (acl and tsig: who may transfer the zones, as the zonefile module's
// options of the same names; default loopback)
//
// and etcdzone.zones(), .status(), .push(name, file), .push_text(name,
// text), .get(name), .edit(name, lines), .delete(name).
func openEtcdzone(L *lua.LState, env *Env) lua.LValue {
	h := env.Persistent("etcdzone", func() any { return &etcdzoneHolder{} }).(*etcdzoneHolder)
	env.AddLayer(h)
	st := env.Persistent("stats", func() any { return stats.New() }).(*stats.Stats)
	log := env.Log()
	need := func(L *lua.LState) *etcdzone.Module {
		m := h.module()
		if m == nil {
			L.RaiseError("etcdzone: not configured (modules = { etcdzone = { endpoints = {...} } })")
		}
		return m
	}
	ctx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), 60*time.Second)
	}
	fail := func(L *lua.LState, err error) int {
		L.Push(lua.LNil)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	M := L.NewTable()
	L.SetFuncs(M, map[string]lua.LGFunction{
		"config": func(L *lua.LState) int {
			o, wait, err := etcdzoneConfig(L.Get(1))
			if err != nil {
				L.RaiseError("etcdzone: %v", err)
			}
			o.Log = log
			o.Stats = st.Set
			for _, k := range o.Keys { // view:tsig('\5name', ...) finds these secrets
				tsigKeyring(env).Add(k)
			}
			key := fmt.Sprintf("%q %q %q %v", o.Endpoints, o.Prefix, o.Username, o.TLS != nil)
			h.mu.Lock()
			if h.m != nil && h.key == key && o.TLS == nil {
				h.m.SetTransfer(o.ACL, o.Keys)
				h.mu.Unlock()
				L.Push(lua.LTrue)
				return 1
			}
			old := h.m
			m, err := etcdzone.New(o)
			if err != nil {
				h.mu.Unlock()
				L.RaiseError("%v", err)
			}
			h.m, h.key = m, key
			h.cur.Store(m)
			h.mu.Unlock()
			if old != nil {
				old.Close()
			}
			if wait > 0 { // let the first load finish before the server answers
				select {
				case <-m.Loaded():
				case <-time.After(wait):
					log.Warnf("etcdzone", "zones not loaded after %v: starting without them", wait)
				}
			}
			L.Push(lua.LTrue)
			return 1
		},
		"zones": func(L *lua.LState) int {
			t := L.NewTable()
			if m := h.module(); m != nil {
				for _, z := range m.Engine().Zones() {
					e := L.NewTable()
					e.RawSetString("name", lua.LString((&dnsmsg.Name{Wire: z.Origin}).String()))
					e.RawSetString("serial", lua.LNumber(z.Serial()))
					t.Append(e)
				}
			}
			L.Push(t)
			return 1
		},
		"status": func(L *lua.LState) int {
			s := need(L).Stats()
			t := L.NewTable()
			t.RawSetString("connected", lua.LBool(s.Connected))
			for k, v := range map[string]int64{"revision": s.Revision, "outages": s.Outages, "reloads": s.Reloads,
				"updates": s.Updates, "errors": s.Errors, "zones": int64(s.Zones), "rrsets": int64(s.RRsets)} {
				t.RawSetString(k, lua.LNumber(v))
			}
			L.Push(t)
			return 1
		},
		"push": func(L *lua.LState) int {
			c, cancel := ctx()
			defer cancel()
			res, err := need(L).Store().PushFile(c, L.CheckString(1), L.CheckString(2))
			if err != nil {
				return fail(L, err)
			}
			L.Push(lua.LNumber(res.Serial))
			return 1
		},
		"push_text": func(L *lua.LState) int {
			c, cancel := ctx()
			defer cancel()
			res, err := need(L).Store().Push(c, L.CheckString(1), []byte(L.CheckString(2)), "(push_text)")
			if err != nil {
				return fail(L, err)
			}
			L.Push(lua.LNumber(res.Serial))
			return 1
		},
		"get": func(L *lua.LState) int {
			c, cancel := ctx()
			defer cancel()
			var b bytes.Buffer
			if _, err := need(L).Store().Get(c, L.CheckString(1), &b); err != nil {
				return fail(L, err)
			}
			L.Push(lua.LString(b.String()))
			return 1
		},
		"edit": func(L *lua.LState) int {
			c, cancel := ctx()
			defer cancel()
			res, err := need(L).Store().Edit(c, L.CheckString(1), L.CheckString(2))
			if err != nil {
				return fail(L, err)
			}
			L.Push(lua.LNumber(res.Serial))
			return 1
		},
		"delete": func(L *lua.LState) int {
			c, cancel := ctx()
			defer cancel()
			if err := need(L).Store().Delete(c, L.CheckString(1)); err != nil {
				return fail(L, err)
			}
			L.Push(lua.LTrue)
			return 1
		},
	})
	return M
}

// etcdzoneConfig reads the module's configuration table.
func etcdzoneConfig(v lua.LValue) (etcdzone.Options, time.Duration, error) {
	var o etcdzone.Options
	wait := 5 * time.Second
	t, ok := v.(*lua.LTable)
	if !ok {
		return o, 0, fmt.Errorf("config: a table {endpoints = {...}, prefix = ...} expected, got %s", v.Type())
	}
	var err error
	var ca, cert, key, host string
	useTLS := false
	t.ForEach(func(k, v lua.LValue) {
		if err != nil {
			return
		}
		switch lua.LVAsString(k) {
		case "endpoints":
			if s, ok := v.(lua.LString); ok {
				o.Endpoints = append(o.Endpoints, string(s))
				return
			}
			err = eachString(v, "endpoints", func(s string) error { o.Endpoints = append(o.Endpoints, s); return nil })
		case "prefix":
			o.Prefix = lua.LVAsString(v)
		case "username":
			o.Username = lua.LVAsString(v)
		case "password":
			o.Password = lua.LVAsString(v)
		case "wait":
			n, ok := v.(lua.LNumber)
			if !ok {
				err = fmt.Errorf("wait: seconds expected")
			}
			wait = time.Duration(float64(n) * float64(time.Second))
		case "acl":
			o.ACL = []netip.Prefix{}
			err = eachString(v, "acl", func(s string) error {
				p, perr := parsePrefixOrAddr(s)
				if perr != nil {
					return fmt.Errorf("acl: %v", perr)
				}
				o.ACL = append(o.ACL, p)
				return nil
			})
		case "tsig":
			err = eachString(v, "tsig", func(s string) error {
				k, kerr := dnsmsg.ParseTSIGKey(s)
				if kerr != nil {
					return fmt.Errorf("tsig: %v", kerr)
				}
				o.Keys = append(o.Keys, k)
				return nil
			})
		case "tls":
			tt, ok := v.(*lua.LTable)
			if !ok {
				err = fmt.Errorf("tls: a table expected")
				return
			}
			ca, cert, key, host = lua.LVAsString(tt.RawGetString("ca_file")), lua.LVAsString(tt.RawGetString("cert_file")),
				lua.LVAsString(tt.RawGetString("key_file")), lua.LVAsString(tt.RawGetString("hostname"))
			useTLS = true
		default:
			err = fmt.Errorf("config: unknown option %q", lua.LVAsString(k))
		}
	})
	if err != nil {
		return o, 0, err
	}
	if len(o.Endpoints) == 0 {
		return o, 0, fmt.Errorf("config: endpoints expected")
	}
	if useTLS {
		c, err := tlscreds.Load(ca, cert, key, host)
		if err != nil {
			return o, 0, fmt.Errorf("tls: %v", err)
		}
		o.TLS = c.ClientConfig(host)
	}
	if o.Prefix == "" {
		o.Prefix = etcdstore.DefaultPrefix
	}
	slices.Sort(o.Endpoints)
	return o, wait, nil
}

package serve

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"

	"ljdns/daemon"
)

// netFuncs are kresd's net.* functions.
func (w *worker) netFuncs() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"listen":                  w.netListen,
		"close":                   w.netClose,
		"list":                    w.netList,
		"interfaces":              netInterfaces,
		"bufsize":                 w.netBufsize,
		"tcp_pipeline":            w.netTCPPipeline,
		"cookies":                 w.netCookies,
		"cname_chain":             w.netCNAMEChain,
		"tls":                     w.netTLS,
		"tls_sticket_secret":      w.netTicketSecret,
		"tls_sticket_secret_file": w.netTicketSecretFile,
		"tls_handshake_timeout": func(L *lua.LState) int {
			return w.netDuration(L, &w.gen.cfg.TLSHandshake, 6*time.Second)
		},
		"tcp_in_idle":     func(L *lua.LState) int { return w.netDuration(L, &w.gen.cfg.TCPIdle, 10*time.Second) },
		"outgoing_allow":  w.netOutgoingAllow,
		"recursion_allow": w.netRecursionAllow,
		"proxy_allowed":   w.netProxyAllowed,
		"outgoing_v4":     w.netOutgoingAddr,
		"outgoing_v6":     w.netOutgoingAddr,
	}
}

// listenKinds are net.listen's kinds (kresd 5's names).
var listenKinds = map[string]daemon.Kind{"dns": daemon.KindDNS, "tls": daemon.KindTLS,
	"doh2": daemon.KindDoH2, "webmgmt": daemon.KindWebmgmt}

// netListen is net.listen(addrs, [port], [{kind=, freebind=}]).
func (w *worker) netListen(L *lua.LState) int {
	port := 53
	if v, ok := L.Get(2).(lua.LNumber); ok {
		port = int(v)
	} else if L.Get(2) != lua.LNil {
		L.ArgError(2, "port number expected")
	}
	if port < 0 || port > 65535 {
		L.ArgError(2, "port out of range")
	}
	kind := daemon.KindDNS
	if port == 853 {
		kind = daemon.KindTLS
	}
	freebind := false
	if o, ok := L.Get(3).(*lua.LTable); ok {
		if k := o.RawGetString("kind"); k != lua.LNil {
			kk, ok := listenKinds[lua.LVAsString(k)]
			if !ok {
				L.RaiseError("net.listen(): unknown kind '%s' (dns, tls, doh2, webmgmt)", lua.LVAsString(k))
			}
			kind = kk
		}
		if o.RawGetString("tls") == lua.LTrue { // kresd 2-3's flag
			kind = daemon.KindTLS
		}
		freebind = lua.LVAsBool(o.RawGetString("freebind"))
	} else if L.Get(3) != lua.LNil {
		L.ArgError(3, "table of options expected")
	}
	var addrs []netip.Addr
	var collect func(v lua.LValue)
	collect = func(v lua.LValue) {
		switch x := v.(type) {
		case lua.LString:
			s := string(x)
			if a, err := netip.ParseAddr(s); err == nil {
				addrs = append(addrs, a.Unmap())
				return
			}
			ifi, err := net.InterfaceByName(s)
			if err != nil {
				L.RaiseError("net.listen(): '%s' is neither an address nor an interface", s)
			}
			as, _ := ifi.Addrs()
			for _, ia := range as {
				if p, err := netip.ParsePrefix(ia.String()); err == nil {
					addrs = append(addrs, p.Addr())
				}
			}
		case *lua.LTable:
			if a, ok := x.RawGetString("addr").(*lua.LTable); ok {
				collect(a) // an interface's entry (net.eth0, net.interfaces()['lo'])
				return
			}
			x.ForEach(func(_, v lua.LValue) { collect(v) })
		default:
			L.ArgError(1, "address, interface name or table expected")
		}
	}
	collect(L.Get(1))
	for _, a := range addrs {
		ap := netip.AddrPortFrom(a, uint16(port))
		l := daemon.Listen{Addr: ap, Kind: kind, Freebind: freebind}
		if w.hasListen(l) {
			continue
		}
		if w.served(l) {
			// already open in the running server (a reload): its socket stays
		} else if err := testBind(ap, freebind); err != nil {
			L.RaiseError("net.listen(): %s@%d: %v", a, port, err)
		}
		w.gen.cfg.Listen = append(w.gen.cfg.Listen, l)
		if err := w.applyRuntime(func(c *daemon.Config) { c.Listen = w.gen.cfg.Listen }); err != nil {
			w.gen.cfg.Listen = w.gen.cfg.Listen[:len(w.gen.cfg.Listen)-1]
			L.RaiseError("net.listen(): %s@%d: %v", a, port, err)
		}
	}
	L.Push(lua.LTrue)
	return 1
}

func (w *worker) hasListen(l daemon.Listen) bool {
	for _, x := range w.listens() {
		if x.Addr == l.Addr && x.Kind == l.Kind {
			return true
		}
	}
	return false
}

// served reports whether the running server listens on l already (a
// reload keeps the socket; after user() a privileged port could not be
// bound again).
func (w *worker) served(l daemon.Listen) bool {
	srv := w.gen.ld.server()
	if srv == nil {
		return false
	}
	for _, x := range srv.Config().Listen {
		if x.Addr == l.Addr && x.Kind == l.Kind {
			return true
		}
	}
	return false
}

// listens returns what the configuration (or the server, when running) listens on.
func (w *worker) listens() []daemon.Listen {
	return w.gen.cfg.Listen
}

// testBind checks that a socket can be bound at a (kresd binds at
// net.listen time, so a bad address fails the configuration there); the
// daemon binds the real sockets with SO_REUSEPORT, so this one does too.
func testBind(a netip.AddrPort, freebind bool) error {
	fam := unix.AF_INET
	if a.Addr().Is6() {
		fam = unix.AF_INET6
	}
	fd, err := unix.Socket(fam, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if freebind {
		if fam == unix.AF_INET {
			unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_FREEBIND, 1)
		} else {
			unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_FREEBIND, 1)
		}
	}
	var sa unix.Sockaddr
	if fam == unix.AF_INET {
		sa = &unix.SockaddrInet4{Port: int(a.Port()), Addr: a.Addr().As4()}
	} else {
		sa6 := &unix.SockaddrInet6{Port: int(a.Port()), Addr: a.Addr().As16()}
		if z := a.Addr().Zone(); z != "" {
			if ifi, err := net.InterfaceByName(z); err == nil {
				sa6.ZoneId = uint32(ifi.Index)
			}
		}
		sa = sa6
	}
	err = unix.Bind(fd, sa)
	if err == unix.EADDRINUSE {
		return nil // taken by a socket of ours (a reload) or another daemon: the daemon's bind decides
	}
	return err
}

// netClose is net.close(addr, [port]).
func (w *worker) netClose(L *lua.LState) int {
	a, err := netip.ParseAddr(L.CheckString(1))
	if err != nil {
		L.ArgError(1, "address expected")
	}
	port := L.OptInt(2, -1)
	var kept []daemon.Listen
	closed := false
	for _, l := range w.gen.cfg.Listen {
		if l.Addr.Addr() == a.Unmap() && (port < 0 || int(l.Addr.Port()) == port) {
			closed = true
			continue
		}
		kept = append(kept, l)
	}
	if closed {
		w.gen.cfg.Listen = kept
		w.applyRuntime(func(c *daemon.Config) { c.Listen = kept })
	}
	L.Push(lua.LBool(closed))
	return 1
}

// netList is net.list(): kresd 5's entries, one per socket (a dns
// listener is a UDP and a TCP socket).
func (w *worker) netList(L *lua.LState) int {
	t := L.NewTable()
	add := func(l daemon.Listen, proto string) {
		e := L.NewTable()
		tr := L.NewTable()
		tr.RawSetString("ip", lua.LString(l.Addr.Addr().String()))
		tr.RawSetString("port", lua.LNumber(l.Addr.Port()))
		tr.RawSetString("protocol", lua.LString(proto))
		tr.RawSetString("freebind", lua.LBool(l.Freebind))
		if l.Addr.Addr().Is4() {
			tr.RawSetString("family", lua.LString("inet4"))
		} else {
			tr.RawSetString("family", lua.LString("inet6"))
		}
		e.RawSetString("transport", tr)
		kind := string(l.Kind)
		if kind == "" {
			kind = "dns"
		}
		e.RawSetString("kind", lua.LString(kind))
		t.Append(e)
	}
	for _, l := range w.listens() {
		switch l.Kind {
		case daemon.KindDNS, "":
			if !l.NoUDP {
				add(l, "udp")
			}
			if !l.NoTCP {
				add(l, "tcp")
			}
		default:
			add(l, "tcp")
		}
	}
	L.Push(t)
	return 1
}

// netInterfaces is net.interfaces(): {name = {addr = {...}, mac = '..'}}.
func netInterfaces(L *lua.LState) int {
	t := L.NewTable()
	ifs, _ := net.Interfaces()
	for _, ifi := range ifs {
		e := L.NewTable()
		at := L.NewTable()
		as, _ := ifi.Addrs()
		for _, a := range as {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				at.Append(lua.LString(p.Addr().String()))
			}
		}
		e.RawSetString("addr", at)
		e.RawSetString("mac", lua.LString(ifi.HardwareAddr.String()))
		t.RawSetString(ifi.Name, e)
	}
	L.Push(t)
	return 1
}

// netBufsize is net.bufsize([downstream, [upstream]]).
func (w *worker) netBufsize(L *lua.LState) int {
	cfg := w.gen.cfg
	if L.GetTop() >= 1 && L.Get(1) != lua.LNil {
		n := L.CheckInt(1)
		if n < 512 || n > 65535 {
			L.ArgError(1, "bufsize must be within 512-65535")
		}
		cfg.BufSize = n
		w.applyRuntime(func(c *daemon.Config) { c.BufSize = n })
	}
	n := cfg.BufSize
	if n == 0 {
		n = daemon.DefaultBufSize
	}
	L.Push(lua.LNumber(n))
	return 1
}

// netTCPPipeline is net.tcp_pipeline([n]).
func (w *worker) netTCPPipeline(L *lua.LState) int {
	cfg := w.gen.cfg
	if L.GetTop() >= 1 && L.Get(1) != lua.LNil {
		n := L.CheckInt(1)
		if n < 1 || n > 65535 {
			L.ArgError(1, "tcp_pipeline must be within 1-65535")
		}
		cfg.TCPPipeline = n
		w.applyRuntime(func(c *daemon.Config) { c.TCPPipeline = n })
	}
	n := cfg.TCPPipeline
	if n == 0 {
		n = daemon.DefaultTCPPipeline
	}
	L.Push(lua.LNumber(n))
	return 1
}

// netCookies is net.cookies([mode]), an ljdns extension: 'on' (server
// cookies answered, the default), 'off', or 'strict' (a UDP query with a
// server cookie that is not valid gets BADCOOKIE and a fresh cookie).
func (w *worker) netCookies(L *lua.LState) int {
	cfg := w.gen.cfg
	if L.Get(1) != lua.LNil {
		var off, strict bool
		switch m := L.CheckString(1); m {
		case "on":
		case "off":
			off = true
		case "strict":
			strict = true
		default:
			L.ArgError(1, "'on', 'off' or 'strict' expected")
		}
		cfg.NoCookies, cfg.StrictCookies = off, strict
		w.applyRuntime(func(c *daemon.Config) { c.NoCookies, c.StrictCookies = off, strict })
	}
	switch {
	case cfg.NoCookies:
		L.Push(lua.LString("off"))
	case cfg.StrictCookies:
		L.Push(lua.LString("strict"))
	default:
		L.Push(lua.LString("on"))
	}
	return 1
}

// netCNAMEChain is net.cname_chain([n]), an ljdns extension: the CNAME and
// DNAME links an answer may follow (default 13, kresd's limit).
func (w *worker) netCNAMEChain(L *lua.LState) int {
	cfg := w.gen.cfg
	if L.Get(1) != lua.LNil {
		n := L.CheckInt(1)
		if n < 1 || n > 255 {
			L.ArgError(1, "cname_chain must be within 1-255")
		}
		cfg.Limits.CNAMEChain = n
		w.applyRuntime(func(c *daemon.Config) { c.Limits.CNAMEChain = n })
	}
	n := cfg.Limits.CNAMEChain
	if n == 0 {
		n = 13
	}
	L.Push(lua.LNumber(n))
	return 1
}

// netDuration gets or sets a duration given in milliseconds.
func (w *worker) netDuration(L *lua.LState, d *time.Duration, def time.Duration) int {
	if v, ok := L.Get(1).(lua.LNumber); ok {
		if v < 0 {
			L.ArgError(1, "non-negative milliseconds expected")
		}
		*d = time.Duration(float64(v) * float64(time.Millisecond))
	}
	cur := *d
	if cur == 0 {
		cur = def
	}
	L.Push(lua.LNumber(cur.Milliseconds()))
	return 1
}

// netTLS is net.tls([cert, key]).
func (w *worker) netTLS(L *lua.LState) int {
	cfg := w.gen.cfg
	if L.GetTop() >= 2 {
		certFile, keyFile := L.CheckString(1), L.CheckString(2)
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			L.RaiseError("net.tls(): %v", err)
		}
		cfg.Certificates = []tls.Certificate{c}
		w.tlsFiles = [2]string{certFile, keyFile}
		L.Push(lua.LTrue)
		return 1
	}
	if w.tlsFiles[0] == "" {
		return 0
	}
	L.Push(lua.LString(w.tlsFiles[0]))
	L.Push(lua.LString(w.tlsFiles[1]))
	return 2
}

// netTicketSecret is net.tls_sticket_secret([secret]) (at least 32 bytes).
func (w *worker) netTicketSecret(L *lua.LState) int {
	s := L.OptString(1, "")
	if s != "" && len(s) < 32 {
		L.ArgError(1, "the secret must be at least 32 bytes")
	}
	w.gen.cfg.TicketSecret = s
	L.Push(lua.LTrue)
	return 1
}

// netTicketSecretFile is net.tls_sticket_secret_file(path).
func (w *worker) netTicketSecretFile(L *lua.LState) int {
	b, err := readFile(L.CheckString(1))
	if err != nil {
		L.RaiseError("net.tls_sticket_secret_file(): %v", err)
	}
	if len(b) < 32 {
		L.RaiseError("net.tls_sticket_secret_file(): the secret must be at least 32 bytes")
	}
	w.gen.cfg.TicketSecret = string(b)
	L.Push(lua.LTrue)
	return 1
}

// parsePrefixes reads a prefix or address, or a table of them.
func parsePrefixes(L *lua.LState, n int, fname string) ([]netip.Prefix, bool) {
	var out []netip.Prefix
	var bad string
	one := func(s string) {
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				bad = s
				return
			}
			out = append(out, p.Masked())
			return
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			bad = s
			return
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	switch v := L.Get(n).(type) {
	case lua.LString:
		one(string(v))
	case *lua.LTable:
		v.ForEach(func(_, x lua.LValue) { one(lua.LVAsString(x)) })
	case *lua.LNilType:
		return nil, false
	default:
		L.ArgError(n, "address/prefix or a table of them expected")
	}
	if bad != "" {
		L.RaiseError("%s: invalid address or prefix '%s'", fname, bad)
	}
	return out, true
}

// netOutgoingAllow is net.outgoing_allow({prefixes}) (ljdns: where the
// daemon may send; intersected with LJDNS_OUTGOING_ALLOW).
func (w *worker) netOutgoingAllow(L *lua.LState) int {
	if ps, ok := parsePrefixes(L, 1, "net.outgoing_allow()"); ok {
		if ps == nil {
			ps = []netip.Prefix{}
		}
		w.gen.cfg.OutgoingAllow = ps
		w.applyRuntime(func(c *daemon.Config) { c.OutgoingAllow = ps })
	}
	return pushPrefixes(L, w.gen.cfg.OutgoingAllow)
}

// netRecursionAllow is net.recursion_allow({prefixes}) (ljdns: who may
// recurse; default loopback).
func (w *worker) netRecursionAllow(L *lua.LState) int {
	if ps, ok := parsePrefixes(L, 1, "net.recursion_allow()"); ok {
		w.gen.cfg.RecursionACL = ps
		w.applyRuntime(func(c *daemon.Config) { c.RecursionACL = ps })
	}
	acl := w.gen.cfg.RecursionACL
	if acl == nil {
		acl = daemon.LoopbackACL
	}
	return pushPrefixes(L, acl)
}

func pushPrefixes(L *lua.LState, ps []netip.Prefix) int {
	t := L.NewTable()
	for _, p := range ps {
		t.Append(lua.LString(p.String()))
	}
	L.Push(t)
	return 1
}

// netProxyAllowed is net.proxy_allowed([list]): kept and listed sorted as
// kresd does; the daemon reads no PROXYv2 header (a warning says so).
func (w *worker) netProxyAllowed(L *lua.LState) int {
	if L.GetTop() >= 1 {
		var out []string
		one := func(s string) {
			p, err := parseProxyNet(s)
			if err != nil {
				L.RaiseError("net.proxy_allowed(): invalid address or netmask '%s'", s)
			}
			out = append(out, p)
		}
		switch v := L.Get(1).(type) {
		case lua.LString:
			one(string(v))
		case *lua.LTable:
			v.ForEach(func(_, x lua.LValue) {
				if s, ok := x.(lua.LString); ok {
					one(string(s))
				} else {
					L.RaiseError("net.proxy_allowed(): strings expected")
				}
			})
		default:
			L.ArgError(1, "address/prefix or a table of them expected")
		}
		sort.Strings(out)
		w.proxyAllowed = out
	}
	t := L.NewTable()
	for _, s := range w.proxyAllowed {
		t.Append(lua.LString(s))
	}
	L.Push(t)
	return 1
}

// parseProxyNet validates "addr[/len]" and returns it with the length.
func parseProxyNet(s string) (string, error) {
	addr, bits, hasBits := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return "", err
	}
	n := a.BitLen()
	if hasBits {
		n, err = strconv.Atoi(bits)
		if err != nil || n < 0 || n > a.BitLen() {
			return "", fmt.Errorf("bad prefix length")
		}
	}
	return netip.PrefixFrom(a, n).Masked().String(), nil
}

// netOutgoingAddr is net.outgoing_v4/v6([addr]): the source address of
// upstream queries. dnsclient picks its source by route; refusing the
// setting says so rather than ignoring it.
func (w *worker) netOutgoingAddr(L *lua.LState) int {
	if L.GetTop() >= 1 && L.Get(1) != lua.LNil {
		L.RaiseError("net.outgoing_v4/v6(): choosing the source address of upstream queries is not supported by ljdns serve")
	}
	return 0
}

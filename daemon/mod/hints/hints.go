// Package hints is kresd's hints module in Go: static A/AAAA answers for
// names (hosts files, Set), the PTRs generated from them, NODATA for other
// types of a hinted name (UseNodata), and the root hints.
package hints

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"ljdns/daemon"
	"ljdns/dnsmsg"
)

// Hints is the hint table and the daemon layer answering from it.
type Hints struct {
	mu    sync.RWMutex
	names map[string][]netip.Addr // lowercased wire name -> addresses in insertion order
	rev   map[string][]byte       // reverse name (wire) -> last name added
	root  map[string][]netip.Addr

	ttl       atomic.Uint32
	useNodata atomic.Bool
}

// New returns an empty hint table (TTL 5 s, NODATA on).
func New() *Hints {
	h := &Hints{names: map[string][]netip.Addr{}, rev: map[string][]byte{}, root: map[string][]netip.Addr{}}
	h.ttl.Store(5)
	h.useNodata.Store(true)
	return h
}

// Name is "hints".
func (h *Hints) Name() string { return "hints" }

func wireOf(name string) ([]byte, error) {
	n, err := dnsmsg.NameFromText(name)
	if err != nil {
		return nil, err
	}
	return dnsmsg.LowerName(n.Wire), nil
}

// reverseName is the in-addr.arpa/ip6.arpa name of a.
func reverseName(a netip.Addr) []byte {
	var labels []string
	if a.Is4() {
		b := a.As4()
		for i := 3; i >= 0; i-- {
			labels = append(labels, fmt.Sprint(b[i]))
		}
		labels = append(labels, "in-addr", "arpa")
	} else {
		b := a.As16()
		const hx = "0123456789abcdef"
		for i := 15; i >= 0; i-- {
			labels = append(labels, string(hx[b[i]&0xF]), string(hx[b[i]>>4]))
		}
		labels = append(labels, "ip6", "arpa")
	}
	w, _ := wireOf(strings.Join(labels, ".") + ".")
	return w
}

// Set adds 'name addr' (hints.set).
func (h *Hints) Set(spec string) error {
	f := strings.Fields(spec)
	if len(f) != 2 {
		return fmt.Errorf("hints: 'name address' expected, got %q", spec)
	}
	return h.Add(f[0], f[1])
}

// Add hints name at addr.
func (h *Hints) Add(name, addr string) error {
	w, err := wireOf(name)
	if err != nil {
		return fmt.Errorf("hints: %q: %v", name, err)
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return fmt.Errorf("hints: %q is not an address", addr)
	}
	a = a.Unmap()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, x := range h.names[string(w)] {
		if x == a {
			h.rev[string(reverseName(a))] = w
			return nil
		}
	}
	h.names[string(w)] = append(h.names[string(w)], a)
	h.rev[string(reverseName(a))] = w
	return nil
}

// Del removes 'name' or 'name addr' (hints.del); it reports whether
// anything was removed.
func (h *Hints) Del(spec string) (bool, error) {
	f := strings.Fields(spec)
	if len(f) < 1 || len(f) > 2 {
		return false, fmt.Errorf("hints: 'name [address]' expected, got %q", spec)
	}
	w, err := wireOf(f[0])
	if err != nil {
		return false, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	addrs := h.names[string(w)]
	var keep []netip.Addr
	removed := false
	for _, a := range addrs {
		if len(f) == 2 && a.String() != f[1] {
			if b, err := netip.ParseAddr(f[1]); err != nil || b.Unmap() != a {
				keep = append(keep, a)
				continue
			}
		}
		removed = true
		if r := string(reverseName(a)); string(h.rev[r]) == string(w) {
			delete(h.rev, r)
		}
	}
	if len(keep) == 0 {
		delete(h.names, string(w))
	} else {
		h.names[string(w)] = keep
	}
	return removed, nil
}

// Get returns the addresses of name (hints.get).
func (h *Hints) Get(name string) []string {
	w, err := wireOf(name)
	if err != nil {
		return nil
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	var out []string
	for _, a := range h.names[string(w)] {
		out = append(out, a.String())
	}
	return out
}

// All returns every hint: name (text, with the final dot) -> addresses.
func (h *Hints) All() map[string][]string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := map[string][]string{}
	for w, as := range h.names {
		n := &dnsmsg.Name{Wire: []byte(w)}
		for _, a := range as {
			out[n.String()] = append(out[n.String()], a.String())
		}
	}
	return out
}

// Clear drops every hint (hints.config()).
func (h *Hints) Clear() {
	h.mu.Lock()
	h.names, h.rev = map[string][]netip.Addr{}, map[string][]byte{}
	h.mu.Unlock()
}

// AddHosts reads a hosts file (hints.add_hosts; default /etc/hosts).
func (h *Hints) AddHosts(path string) error {
	if path == "" {
		path = "/etc/hosts"
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fs := strings.Fields(line)
		if len(fs) < 2 {
			continue
		}
		if _, err := netip.ParseAddr(fs[0]); err != nil {
			continue
		}
		for i := len(fs) - 1; i >= 1; i-- { // the first name is the PTR's (added last)
			h.Add(fs[i], fs[0])
		}
	}
	return sc.Err()
}

// SetRoot replaces the root hints (hints.root).
func (h *Hints) SetRoot(m map[string][]string) error {
	root := map[string][]netip.Addr{}
	for n, as := range m {
		for _, s := range as {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return fmt.Errorf("hints.root: %q is not an address", s)
			}
			root[strings.ToLower(strings.TrimSuffix(n, "."))+"."] = append(root[strings.ToLower(strings.TrimSuffix(n, "."))+"."], a)
		}
	}
	h.mu.Lock()
	h.root = root
	h.mu.Unlock()
	return nil
}

// Root returns the root hints.
func (h *Hints) Root() map[string][]string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := map[string][]string{}
	names := make([]string, 0, len(h.root))
	for n := range h.root {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, a := range h.root[n] {
			out[n] = append(out[n], a.String())
		}
	}
	return out
}

// SetTTL sets the TTL of hint answers (hints.ttl).
func (h *Hints) SetTTL(ttl uint32) { h.ttl.Store(ttl) }

// TTL returns the TTL of hint answers.
func (h *Hints) TTL() uint32 { return h.ttl.Load() }

// UseNodata sets whether other types of a hinted name get NODATA.
func (h *Hints) UseNodata(on bool) { h.useNodata.Store(on) }

// Begin answers hinted names.
func (h *Hints) Begin(r *daemon.Request, s daemon.State) daemon.State {
	if r.QClass() != dnsmsg.ClassINET {
		return s
	}
	q := dnsmsg.LowerName(r.QName())
	h.mu.RLock()
	addrs, ok := h.names[string(q)]
	var ptr []byte
	if !ok {
		ptr = h.rev[string(q)]
	}
	h.mu.RUnlock()
	ttl := h.ttl.Load()
	qt := r.QType()
	put := func(t uint16, rdata [][]byte) {
		r.ResetAnswer() // no AA: kresd answers hints as cached data
		r.Answer.Begin(dnsmsg.SectionAN)
		r.Answer.Put(&dnsmsg.RRSet{Owner: &dnsmsg.Name{Wire: r.QName()}, Type: t, Class: dnsmsg.ClassINET, TTL: ttl, RData: rdata}, false)
	}
	switch {
	case ok:
		var rd [][]byte
		for _, a := range addrs {
			if qt == dnsmsg.TypeA && a.Is4() {
				b := a.As4()
				rd = append(rd, b[:])
			} else if qt == dnsmsg.TypeAAAA && a.Is6() {
				b := a.As16()
				rd = append(rd, b[:])
			}
		}
		if len(rd) > 0 {
			put(qt, rd)
			return daemon.Done
		}
		if h.useNodata.Load() {
			r.ResetAnswer()
			return daemon.Done
		}
	case ptr != nil:
		if qt == dnsmsg.TypePTR {
			put(qt, [][]byte{ptr})
			return daemon.Done
		}
		if h.useNodata.Load() {
			r.ResetAnswer()
			return daemon.Done
		}
	}
	return s
}

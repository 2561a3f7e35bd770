package policy

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"ljdns/daemon"
	"ljdns/dnsmsg"
	zonefile "ljdns/dnsmsg/zone"
)

// RPZ is a Response Policy Zone file compiled to rules (kresd 5's
// policy.rpz): QNAME triggers only, exact owners and `*.` wildcard owners,
// with kresd's right-hand sides: `CNAME .` is the default action, `CNAME *.`
// NODATA, `CNAME rpz-passthru.` PASS, `CNAME rpz-drop.` DROP, `CNAME
// rpz-tcp-only.` TC, and other records local data answered as
// ANSWER(..., nodata). The zone's origin is the owner of its first SOA
// (before one, $ORIGIN); owners are taken relative to it. With Watch the
// file is read again when it changes (kresd uses inotify; a poll of the
// file's size, modification time and inode here).
type RPZ struct {
	path  string
	def   Action
	log   func(format string, args ...any)
	rules atomic.Pointer[map[string]Action]

	mu      sync.Mutex
	stamp   fileStamp
	stop    chan struct{}
	stopped bool
}

type fileStamp struct {
	size  int64
	mtime time.Time
	ino   uint64
}

// rpzTargets are the CNAME targets kresd gives a meaning to.
var rpzTargets = map[string]string{
	"\x00":                 "default",
	"\x01*\x00":            "nodata",
	"\x0crpz-passthru\x00": "passthru",
	"\x08rpz-drop\x00":     "drop",
	"\x0crpz-tcp-only\x00": "tcp-only",
}

// rpzBadTypes are skipped with a warning (SOA and NS only below the apex).
var rpzBadTypes = map[uint16]bool{
	39 /* DNAME */ : true, dnsmsg.TypeNS: false, dnsmsg.TypeSOA: false, 48 /* DNSKEY */ : true,
	43 /* DS */ : true, 46 /* RRSIG */ : true, 47 /* NSEC */ : true, 50 /* NSEC3 */ : true,
}

// LoadRPZ compiles the RPZ file path with def as the action of `CNAME .`
// (kresd's first argument). log (may be nil) gets the warnings about
// records it ignores.
func LoadRPZ(path string, def Action, log func(format string, args ...any)) (*RPZ, error) {
	if log == nil {
		log = func(string, ...any) {}
	}
	z := &RPZ{path: path, def: def, log: log}
	if err := z.load(); err != nil {
		return nil, err
	}
	return z, nil
}

func stampOf(path string) (fileStamp, error) {
	st, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{size: st.Size(), mtime: st.ModTime(), ino: inodeOf(st)}, nil
}

// load parses the file and swaps the rules in.
func (z *RPZ) load() error {
	stamp, err := stampOf(z.path)
	if err != nil {
		return fmt.Errorf("policy.rpz: %v", err)
	}
	rules, err := z.parse()
	if err != nil {
		return err
	}
	z.rules.Store(&rules)
	z.mu.Lock()
	z.stamp = stamp
	z.mu.Unlock()
	return nil
}

func (z *RPZ) parse() (map[string]Action, error) {
	s, err := zonefile.NewFileScanner(z.path, ".", zonefile.ClassINET, zonefile.DefaultTTL)
	if err != nil {
		return nil, fmt.Errorf("policy.rpz: %v", err)
	}
	defer s.Close()
	rules := map[string]Action{}
	data := map[string]map[uint16]Data{}
	var origin []byte // the first SOA's owner
	for s.Next() {
		rec := s.Record()
		owner := dnsmsg.LowerName(append([]byte(nil), rec.Owner...))
		if origin == nil && rec.Type == dnsmsg.TypeSOA {
			origin = owner
			continue
		}
		apex := origin
		if apex == nil { // no SOA yet: the file's $ORIGIN, as kresd's zone_origin
			apex = dnsmsg.LowerName(append([]byte(nil), s.Origin()...))
		}
		if !dnsmsg.NameWithin(owner, apex) {
			z.log("RPZ %s:%d: RR owner %s outside the zone (ignored)", z.path, rec.Line, nameText(owner))
			continue
		}
		name := string(owner[:len(owner)-len(apex)]) + "\x00"
		atApex := len(owner) == len(apex)
		if rec.Type == dnsmsg.TypeCNAME {
			target := string(dnsmsg.LowerName(append([]byte(nil), rec.RData...)))
			switch rpzTargets[target] {
			case "default":
				rules[name] = z.def
			case "nodata":
				rules[name] = ANSWER(map[uint16]Data{}, true)
			case "passthru":
				rules[name] = PASS
			case "drop":
				rules[name] = DROP
			case "tcp-only":
				rules[name] = TC
			default:
				z.log("RPZ %s:%d: CNAME with custom target in RPZ is not supported yet (ignored)", z.path, rec.Line)
			}
			continue
		}
		if bad, ok := rpzBadTypes[rec.Type]; ok {
			if bad || !atApex {
				z.log("RPZ %s:%d: RR type %s is not allowed in RPZ (ignored)", z.path, rec.Line, dnsmsg.TypeString(rec.Type))
			}
			continue
		}
		m := data[name]
		if m == nil {
			m = map[uint16]Data{}
			data[name] = m
		}
		d, ok := m[rec.Type]
		if ok && rec.TTL < d.TTL {
			d.TTL = rec.TTL // conservative, as kresd
		} else if !ok {
			d.TTL = rec.TTL
		}
		d.RData = append(d.RData, append([]byte(nil), rec.RData...))
		m[rec.Type] = d
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("policy.rpz: %v", err)
	}
	for name, m := range data {
		if _, ok := rules[name]; !ok {
			rules[name] = ANSWER(m, true)
		}
	}
	return rules, nil
}

func nameText(w []byte) string { return (&dnsmsg.Name{Wire: w}).String() }

// Len returns the number of triggers.
func (z *RPZ) Len() int { return len(*z.rules.Load()) }

// Rule returns the RPZ as a policy filter: the action of the query name's
// trigger (the name itself, then `*.` at each of its ancestors), or nil.
func (z *RPZ) Rule() RuleFunc {
	return func(r *daemon.Request) Action {
		rules := *z.rules.Load()
		if len(rules) == 0 {
			return nil
		}
		var buf [256]byte
		q := r.QName()
		if len(q) > len(buf) {
			return nil
		}
		label := buf[:len(q)]
		copy(label, q)
		lowerWire(label)
		if a, ok := rules[string(label)]; ok {
			return a
		}
		var wbuf [258]byte
		for len(label) > 0 {
			label = label[1+int(label[0]):]
			w := append(append(wbuf[:0], 1, '*'), label...)
			if a, ok := rules[string(w)]; ok {
				return a
			}
		}
		return nil
	}
}

func lowerWire(b []byte) {
	for i := range b {
		if b[i] >= 'A' && b[i] <= 'Z' {
			b[i] += 'a' - 'A'
		}
	}
}

// Watch reads the file again whenever it changes (its size, modification
// time and inode checked every interval; read once they stayed the same
// for one interval, so a file being written in place is not read half
// way; a file that does not parse keeps the rules in force and is logged
// with file:line) until Close. A poll rather than inotify: it sees a file
// renamed over the old one, a directory replaced, and files on network
// file systems alike, holds no descriptor, and costs one stat per
// interval.
func (z *RPZ) Watch(interval time.Duration) {
	z.mu.Lock()
	if z.stop != nil || z.stopped {
		z.mu.Unlock()
		return
	}
	z.stop = make(chan struct{})
	stop := z.stop
	z.mu.Unlock()
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		var pending *fileStamp
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			st, err := stampOf(z.path)
			z.mu.Lock()
			same := err != nil || st == z.stamp
			z.mu.Unlock()
			if same {
				pending = nil
				continue
			}
			if pending == nil || *pending != st {
				// changed since the last check: read it once it has stayed
				// the same for an interval, not while it is being written
				pending = &st
				continue
			}
			pending = nil
			if err := z.load(); err != nil {
				z.log("%v (the previous rules stay)", err)
				z.mu.Lock()
				z.stamp = st // not again until it changes
				z.mu.Unlock()
				continue
			}
			z.log("RPZ %s: reloaded, %d triggers", z.path, z.Len())
		}
	}()
}

// Close stops watching.
func (z *RPZ) Close() error {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.stopped = true
	if z.stop != nil {
		close(z.stop)
		z.stop = nil
	}
	return nil
}

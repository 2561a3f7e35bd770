// Package zonefile is ljdns serve's zonefile module (SERVE.md §5): a
// daemon.Layer answering authoritatively from master files through an
// authority.Engine, in Begin and whatever the RD bit (so before the
// caches and forwarding, which see only names outside its zones).
//
// Zone transfers: AXFR over TCP and TLS only (NOTIMP over UDP, as knotd),
// to the zone's ACL (default loopback) or with one of its TSIG keys (RFC
// 8945, every message signed); IXFR is answered AXFR-style (RFC 1995 §4),
// or with the SOA alone when the client's serial is current or over UDP.
// Refusals are NOTAUTH as knotd answers them. No NOTIFY is ever sent.
//
// The files are checked for changes (modification time and size) every
// Options.Poll and on each Configure (the daemon's reload); a file that
// fails to load keeps its last good version served and is logged with
// file:line. Queries are answered throughout: zones are swapped whole.
package zonefile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ljdns/authority"
	"ljdns/daemon"
	"ljdns/dnsmsg"
)

// Zone is one zone the module serves.
type Zone struct {
	Name string         // origin ("example.com" or "example.com.")
	File string         // master file
	ACL  []netip.Prefix // clients that may transfer the zone without a key (nil: loopback)
	Keys []*dnsmsg.TSIG // TSIG keys that may transfer it from any address
	// Sign, when not nil, signs the zone on line (authority.LoadSigned):
	// its private key files or key directory and the denial mode.
	Sign *authority.SignConfig
}

// Options tune the module.
type Options struct {
	Engine authority.Options // how answers are made (ANY, cross-zone CNAMEs, UDP size)
	// Poll is how often the zone files are checked for changes: 0 means
	// DefaultPoll, a negative value turns the check off.
	Poll time.Duration
	Log  *daemon.Logger // nil: stderr
}

// DefaultPoll is the default interval of the zone file check.
const DefaultPoll = 2 * time.Second

// access is who may transfer one zone.
type access struct {
	acl  []netip.Prefix
	keys []*dnsmsg.TSIG
	sign string // the signing configuration, to see it change
}

// signKey describes c for comparison ("" for a static zone).
func signKey(c *authority.SignConfig) string {
	if c == nil {
		return ""
	}
	return fmt.Sprintf("%q %q %+v", c.Keys, c.KeyDir, c.Options)
}

// Module is the zonefile layer. One value serves across daemon reloads
// (Configure changes its zones); its methods are safe for concurrent use.
type Module struct {
	e    *authority.Engine
	log  *daemon.Logger
	poll time.Duration

	mu      sync.Mutex // Configure, Check, Close
	access  atomic.Pointer[map[string]*access]
	other   atomic.Pointer[access] // zones added to the engine by others (SetTransfer)
	stop    chan struct{}
	stopped chan struct{}
}

// DefaultACL is who may transfer a zone whose ACL is not given: loopback.
var DefaultACL = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// New returns a module without zones.
func New(opt Options) *Module {
	m := &Module{e: authority.New(opt.Engine), log: opt.Log, poll: opt.Poll}
	if m.log == nil {
		m.log = daemon.NewLogger(nil)
	}
	if m.poll == 0 {
		m.poll = DefaultPoll
	}
	acc := map[string]*access{}
	m.access.Store(&acc)
	return m
}

// Name returns "zonefile".
func (m *Module) Name() string { return "zonefile" }

// Engine returns the answer engine (its zones are the module's).
func (m *Module) Engine() *authority.Engine { return m.e }

// originKey returns the lowercased wire form of a zone name.
func originKey(name string) (string, error) {
	n, err := dnsmsg.NameFromText(strings.TrimSpace(name))
	if err != nil || name == "" {
		return "", fmt.Errorf("bad zone name %q", name)
	}
	return string(dnsmsg.LowerName(n.Wire)), nil
}

// Configure serves exactly zones: new ones are loaded, zones no longer
// listed dropped, files changed since they were read loaded again. A file
// that fails to load keeps its last good version (the error is logged);
// when no version of it was ever loaded, Configure fails (with file:line)
// before it drops or changes anything else. It starts the file check.
func (m *Module) Configure(zones []Zone) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	acc := map[string]*access{}
	names := map[string]string{}
	for _, z := range zones {
		k, err := originKey(z.Name)
		if err != nil {
			return err
		}
		if z.File == "" {
			return fmt.Errorf("zone %s: no file", z.Name)
		}
		if _, dup := acc[k]; dup {
			return fmt.Errorf("zone %s listed twice", z.Name)
		}
		a := &access{acl: z.ACL, keys: z.Keys, sign: signKey(z.Sign)}
		if a.acl == nil {
			a.acl = DefaultACL
		}
		acc[k] = a
		names[k] = z.Name
		prev := (*m.access.Load())[k]
		if old := m.e.Zone([]byte(k)); old != nil && old.File == z.File && prev != nil && prev.sign == a.sign {
			continue // checked below with the others
		}
		if _, err := m.e.LoadSigned(z.Name, z.File, z.Sign); err != nil {
			if m.e.Zone([]byte(k)) == nil {
				return fmt.Errorf("zone %s: %v", z.Name, err)
			}
			m.log.Errorf("zonefile", "zone %s: %v (the last good version stays served)", z.Name, err)
		}
	}
	for _, z := range m.e.Zones() {
		if _, ok := acc[string(z.Origin)]; !ok {
			m.e.Remove(z.Origin)
		}
	}
	m.access.Store(&acc)
	m.checkLocked()
	if m.poll > 0 && m.stop == nil {
		m.stop, m.stopped = make(chan struct{}), make(chan struct{})
		go m.watch(m.stop, m.stopped)
	}
	return nil
}

// SetTransfer decides who may transfer the zones that are in the engine
// but were not given to Configure (the etcdzone module adds its zones to
// the engine itself): the clients in acl (nil: DefaultACL) without a key,
// and queries signed with one of keys from anywhere. Before it is called
// such zones are not transferred (NOTAUTH).
func (m *Module) SetTransfer(acl []netip.Prefix, keys []*dnsmsg.TSIG) {
	if acl == nil {
		acl = DefaultACL
	}
	m.other.Store(&access{acl: acl, keys: keys})
}

// Check loads again the zones whose files changed; errors are logged and
// returned (the zones stay as they were).
func (m *Module) Check() []error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.checkLocked()
}

func (m *Module) checkLocked() []error {
	before := map[string]uint32{}
	for _, z := range m.e.Zones() {
		before[string(z.Origin)] = z.Serial()
	}
	errs := m.e.Reload(false)
	for _, err := range errs {
		m.log.Errorf("zonefile", "%v (the last good version stays served)", err)
	}
	for _, z := range m.e.Zones() {
		if s, ok := before[string(z.Origin)]; ok && m.e.Zone(z.Origin) == z && s != z.Serial() {
			m.log.Infof("zonefile", "zone %s loaded again, serial %d", nameText(z.Origin), z.Serial())
		}
	}
	return errs
}

func (m *Module) watch(stop, stopped chan struct{}) {
	defer close(stopped)
	t := time.NewTicker(m.poll)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			m.Check()
		}
	}
}

// Close stops the file check (a later Configure starts it again).
func (m *Module) Close() error {
	m.mu.Lock()
	stop, stopped := m.stop, m.stopped
	m.stop, m.stopped = nil, nil
	m.mu.Unlock()
	if stop != nil {
		close(stop)
		<-stopped
	}
	return nil
}

// Begin answers queries for names in the zones (whatever RD), and
// transfers; other queries pass on unchanged.
func (m *Module) Begin(r *daemon.Request, s daemon.State) daemon.State {
	if qt := r.QType(); qt == typeAXFR || qt == typeIXFR {
		return m.transfer(r, s)
	}
	a := r.Answer
	out, ok := m.e.AppendAnswerRoom(a.Buf[:0], r.Query.Bytes(), r.AnswerRoom())
	if !ok {
		return s
	}
	// The engine wrote header, question (as received, where the answer
	// already had it) and records: the packet's state (question, section)
	// still holds for the pipeline, which appends its OPT RR at Size.
	a.Size = len(out)
	if r.Trace != nil { // the arguments would allocate on every answer
		r.Tracef("[zonefile] answered from the zone, rcode %d, %d bytes", r.Rcode(), a.Size)
	}
	return daemon.Done
}

// Transfer types (RFC 1995, 5936).
const (
	typeIXFR uint16 = 251
	typeAXFR uint16 = 252
)

// RCODEs of transfers.
const (
	rcodeNotImp  = 4
	rcodeNotAuth = 9
)

// transfer answers AXFR and IXFR.
func (m *Module) transfer(r *daemon.Request, s daemon.State) daemon.State {
	qname := r.QName()
	var lb [256]byte
	key := string(lowerInto(&lb, qname))
	acc := (*m.access.Load())[key]
	if acc == nil {
		acc = m.other.Load()
	}
	z := m.e.Zone(qname)
	if acc == nil || z == nil {
		if r.QClass() != dnsmsg.ClassINET || !m.e.Covers(qname) {
			return s // not ours
		}
		r.SetRcode(rcodeNotAuth) // a name inside a zone, not its apex: knotd says NOTAUTH
		return daemon.Done
	}
	ixfr := r.QType() == typeIXFR
	stream := r.Proto == daemon.TCP || r.Proto == daemon.DoT // transports that carry several messages
	if !stream && !ixfr {
		r.SetRcode(rcodeNotImp) // AXFR over UDP (knotd: NOTIMP)
		return daemon.Done
	}
	k, terr := m.authorize(r, acc)
	if k == nil {
		who := "outside the ACL"
		if terr != 0 {
			who = fmt.Sprintf("TSIG error %d", terr)
		}
		m.log.Noticef("zonefile", "%s of %s to %v refused: %s", dnsmsg.TypeString(r.QType()), nameText(z.Origin), r.Client, who)
		if terr != 0 && r.SetMessages([][]byte{tsigError(r, terr)}) {
			return daemon.Done
		}
		r.SetRcode(rcodeNotAuth)
		return daemon.Done
	}
	if k == noKey {
		k = nil
	}
	if ixfr && (!stream || ixfrCurrent(r, z.Serial())) {
		// RFC 1995 §2: the client is current, or over UDP: the SOA alone
		if !stream {
			r.Answer.Buf[2] |= 0x04 // AA
			r.Answer.Put(z.SOA(), true)
			return daemon.Done
		}
		p := dnsmsg.NewPacket(65535)
		r.Query.ToAnswer(p)
		p.Buf[2] |= 0x04 | r.Query.Buf[2]&0x01 // AA, RD
		p.Put(z.SOA(), true)
		msgs := [][]byte{p.Bytes()}
		if k != nil && !sign(k, msgs) {
			r.SetRcode(daemon.RcodeServFail)
			return daemon.Done
		}
		if !r.SetMessages(msgs) {
			r.SetRcode(rcodeNotImp)
		}
		return daemon.Done
	}
	room := 65535
	if k != nil {
		room -= tsigRoom
	}
	msgs, err := m.e.TransferRoom(r.Query.Bytes(), room)
	if err == nil && k != nil && !sign(k, msgs) {
		err = errors.New("TSIG signing failed")
	}
	if err != nil {
		m.log.Errorf("zonefile", "%s of %s to %v: %v", dnsmsg.TypeString(r.QType()), nameText(z.Origin), r.Client, err)
		r.SetRcode(daemon.RcodeServFail)
		return daemon.Done
	}
	if !r.SetMessages(msgs) {
		r.SetRcode(rcodeNotImp) // a stream that takes one message (resolve())
		return daemon.Done
	}
	via := ""
	if k != nil {
		via = " with key " + nameText(k.Name)
	}
	m.log.Infof("zonefile", "%s of %s serial %d to %v%s: %d messages", dnsmsg.TypeString(r.QType()), nameText(z.Origin), z.Serial(), r.Client, via, len(msgs))
	return daemon.Done
}

// tsigRoom is what a TSIG RR may take at the end of a transfer message.
const tsigRoom = 512

// noKey marks a transfer allowed by address.
var noKey = &dnsmsg.TSIG{}

// authorize decides a transfer: the key that signed the query (a copy
// holding the exchange's state) when it verifies against one of the
// zone's keys, noKey when the unsigned query comes from the ACL, else nil
// with the TSIG error to answer (0: outside the ACL).
func (m *Module) authorize(r *daemon.Request, acc *access) (*dnsmsg.TSIG, int) {
	if t := r.Query.TSIG(); t != nil {
		for _, k := range acc.keys {
			if dnsmsg.CompareNames(k.Name, t.Owner.Wire) == 0 {
				c := k.Copy()
				if code := c.Verify(r.Query); code != 0 {
					return nil, code
				}
				return c, 0
			}
		}
		return nil, dnsmsg.RcodeBadKey
	}
	a := r.Client.Addr().Unmap()
	for _, p := range acc.acl {
		if p.Contains(a) {
			return noKey, 0
		}
	}
	return nil, 0
}

// sign appends a TSIG RR to each message (RFC 8945 §5.3.1: every one).
func sign(k *dnsmsg.TSIG, msgs [][]byte) bool {
	p := &dnsmsg.Packet{Buf: make([]byte, 65535)}
	for i, b := range msgs {
		copy(p.Buf, b)
		p.Size = len(b)
		if p.Parse(false) != 0 || k.Sign(p, dnsmsg.DefaultFudge) != nil {
			return false
		}
		msgs[i] = append([]byte(nil), p.Bytes()...)
	}
	return true
}

// tsigError makes the NOTAUTH answer to a query whose TSIG failed: the
// question and a TSIG RR with the error and no MAC (RFC 8945 §5.2).
func tsigError(r *daemon.Request, code int) []byte {
	q := r.Query
	p := dnsmsg.NewPacket(65535)
	q.ToAnswer(p)
	p.Buf[2] |= q.Buf[2] & 0x01
	p.Buf[3] = p.Buf[3]&0xF0 | rcodeNotAuth
	t := q.TSIG()
	rd := t.RData[0]
	alg := 0
	for alg < len(rd) && rd[alg] != 0 {
		alg += 1 + int(rd[alg])
	}
	alg++
	out := p.Bytes()
	if alg+10 > len(rd) {
		return out
	}
	var v []byte
	v = append(v, rd[:alg]...)
	now := uint64(time.Now().Unix())
	v = append(v, byte(now>>40), byte(now>>32), byte(now>>24), byte(now>>16), byte(now>>8), byte(now))
	v = binary.BigEndian.AppendUint16(v, dnsmsg.DefaultFudge)
	v = binary.BigEndian.AppendUint16(v, 0) // no MAC
	v = binary.BigEndian.AppendUint16(v, q.ID())
	v = binary.BigEndian.AppendUint16(v, uint16(code))
	v = binary.BigEndian.AppendUint16(v, 0)
	out = append(out, t.Owner.Wire...)
	out = binary.BigEndian.AppendUint16(out, dnsmsg.TypeTSIG)
	out = binary.BigEndian.AppendUint16(out, dnsmsg.ClassANY)
	out = append(out, 0, 0, 0, 0)
	out = binary.BigEndian.AppendUint16(out, uint16(len(v)))
	out = append(out, v...)
	binary.BigEndian.PutUint16(out[10:], 1)
	return out
}

// ixfrCurrent reports whether the IXFR query's SOA (authority section)
// carries a serial at or past serial (RFC 1982 arithmetic).
func ixfrCurrent(r *daemon.Request, serial uint32) bool {
	for _, rr := range r.Query.Records(dnsmsg.SectionNS) {
		if rr.Type != dnsmsg.TypeSOA || len(rr.RData) == 0 || len(rr.RData[0]) < 20 {
			continue
		}
		rd := rr.RData[0]
		c := binary.BigEndian.Uint32(rd[len(rd)-20:])
		return c == serial || int32(c-serial) > 0
	}
	return false
}

func lowerInto(b *[256]byte, w []byte) []byte {
	n := copy(b[:], w)
	for i := range n {
		if c := b[i]; 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return b[:n]
}

func nameText(w []byte) string { return (&dnsmsg.Name{Wire: w}).String() }

package dnsmsg

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash"
	"strings"
	"time"
)

// TSIG error codes (RFC 8945 §4.3).
const (
	RcodeFormErr   = 1
	RcodeNotAuth   = 9
	RcodeBadSig    = 16
	RcodeBadKey    = 17
	RcodeBadTime   = 18
	DefaultFudge   = 300 // seconds of clock skew a signature allows (RFC 8945 §10)
	tsigAlgDefault = "hmac-sha256"
)

// tsigAlgs maps algorithm names to hash constructors and canonical names.
var tsigAlgs = map[string]struct {
	wireName string
	hash     func() hash.Hash
}{
	"hmac-md5":    {"hmac-md5.sig-alg.reg.int.", md5.New},
	"hmac-sha1":   {"hmac-sha1.", sha1.New},
	"hmac-sha224": {"hmac-sha224.", sha256.New224},
	"hmac-sha256": {"hmac-sha256.", sha256.New},
	"hmac-sha384": {"hmac-sha384.", sha512.New384},
	"hmac-sha512": {"hmac-sha512.", sha512.New},
}

// tsigAlgName normalises an algorithm name ("hmac-md5.sig-alg.reg.int" → "hmac-md5").
func tsigAlgName(s string) (string, bool) {
	s = strings.TrimSuffix(strings.ToLower(s), ".")
	if s == "hmac-md5.sig-alg.reg.int" {
		s = "hmac-md5"
	}
	_, ok := tsigAlgs[s]
	return s, ok
}

// tsigMode is what a TSIG object did last, which decides the MAC chaining.
type tsigMode int

const (
	tsigIdle          tsigMode = iota
	tsigSignedRequest          // signed a query: next verify chains its MAC
	tsigVerifiedReply          // verified a reply: further replies are timers-only
	tsigVerifiedQuery          // verified a query: next sign chains its MAC
	tsigSignedReply            // signed a reply: further replies are timers-only
)

// TSIG is a TSIG key (RFC 8945) with signer state: the last MAC it made
// or checked, chained into the next message of the exchange.
type TSIG struct {
	Name      []byte // key name, wire form (lowercased)
	Algorithm string // e.g. "hmac-sha256"
	Secret    []byte
	Now       func() time.Time // clock (time.Now when nil)
	lastMAC   []byte
	mode      tsigMode
	unsigned  [][]byte // messages since the last signed one (RFC 8945 §5.3.1)
}

// MaxUnsigned is the most unsigned messages RFC 8945 §5.3.1 allows
// between two signed ones of a multi-message exchange.
const MaxUnsigned = 99

// ErrTooManyUnsigned is returned by Unsigned for the 100th unsigned
// message in a row, and for an unsigned message before any signed one.
var ErrTooManyUnsigned = errors.New("dns: tsig: more than 99 unsigned messages, or unsigned before the first signed one")

// Unsigned takes a message of a multi-message exchange (a zone transfer)
// that was received, or is sent, without a TSIG RR after a signed one
// (RFC 8945 §5.3.1): the MAC of the next signed message covers it, so the
// next Verify or Sign includes it. At most MaxUnsigned may come in a row.
func (t *TSIG) Unsigned(p *Packet) error {
	if (t.mode != tsigVerifiedReply && t.mode != tsigSignedReply) || len(t.unsigned) >= MaxUnsigned {
		return ErrTooManyUnsigned
	}
	t.unsigned = append(t.unsigned, append([]byte(nil), p.Bytes()...))
	return nil
}

// withUnsigned returns the pending unsigned messages, each with its ID set
// to id (the exchange's original ID), followed by msg; and clears them.
func (t *TSIG) withUnsigned(msg []byte, id uint16) []byte {
	if len(t.unsigned) == 0 {
		return msg
	}
	var all []byte
	for _, u := range t.unsigned {
		start := len(all)
		all = append(all, u...)
		if len(u) >= 2 {
			binary.BigEndian.PutUint16(all[start:], id)
		}
	}
	return append(all, msg...)
}

// ParseTSIGKey parses "name:alg:base64", "alg:name:base64" or "name:base64"
// (default algorithm hmac-sha256), the dig/kdig -y key syntax.
func ParseTSIGKey(s string) (*TSIG, error) {
	parts := strings.Split(s, ":")
	var name, alg, secret string
	switch len(parts) {
	case 2:
		name, alg, secret = parts[0], tsigAlgDefault, parts[1]
	case 3:
		if _, ok := tsigAlgName(parts[1]); ok {
			name, alg, secret = parts[0], parts[1], parts[2]
		} else {
			alg, name, secret = parts[0], parts[1], parts[2]
		}
	default:
		return nil, errors.New("dns: tsig key must be name:alg:secret")
	}
	a, ok := tsigAlgName(alg)
	if !ok {
		return nil, errors.New("dns: unknown tsig algorithm " + alg)
	}
	key, err := base64.StdEncoding.DecodeString(secret)
	if err != nil {
		return nil, errors.New("dns: bad tsig secret: " + err.Error())
	}
	n, err := NameFromText(name)
	if err != nil {
		return nil, errors.New("dns: bad tsig key name")
	}
	return &TSIG{Name: LowerName(n.Wire), Algorithm: a, Secret: key}, nil
}

// Copy returns the same key with fresh state.
func (t *TSIG) Copy() *TSIG {
	return &TSIG{Name: t.Name, Algorithm: t.Algorithm, Secret: t.Secret, Now: t.Now}
}

func (t *TSIG) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

func (t *TSIG) algWire() []byte {
	n, _ := NameFromText(tsigAlgs[t.Algorithm].wireName)
	return n.Wire
}

// mac computes the MAC over prior MAC, message and TSIG variables.
func (t *TSIG) mac(prior, msg []byte, timeSigned uint64, fudge uint16, errCode uint16, other []byte, timersOnly bool) []byte {
	h := hmac.New(tsigAlgs[t.Algorithm].hash, t.Secret)
	if prior != nil {
		h.Write(binary.BigEndian.AppendUint16(nil, uint16(len(prior))))
		h.Write(prior)
	}
	h.Write(msg)
	var v []byte
	if !timersOnly {
		v = append(v, t.Name...)
		v = binary.BigEndian.AppendUint16(v, ClassANY)
		v = binary.BigEndian.AppendUint32(v, 0)
		v = append(v, t.algWire()...)
	}
	v = append(v, byte(timeSigned>>40), byte(timeSigned>>32), byte(timeSigned>>24),
		byte(timeSigned>>16), byte(timeSigned>>8), byte(timeSigned))
	v = binary.BigEndian.AppendUint16(v, fudge)
	if !timersOnly {
		v = binary.BigEndian.AppendUint16(v, errCode)
		v = binary.BigEndian.AppendUint16(v, uint16(len(other)))
		v = append(v, other...)
	}
	h.Write(v)
	return h.Sum(nil)
}

// ErrNoSpace reports a packet without room for the TSIG RR.
var ErrNoSpace = errors.New("dns: not enough space for TSIG")

// Sign appends a TSIG RR to the ADDITIONAL section of p (time now, given
// fudge), chaining the previous MAC as RFC 8945 §5.3 describes.
func (t *TSIG) Sign(p *Packet, fudge uint16) error {
	p.stripTSIG()
	var prior []byte
	timersOnly := false
	switch t.mode {
	case tsigVerifiedQuery:
		prior = t.lastMAC
	case tsigSignedReply:
		prior, timersOnly = t.lastMAC, true
	}
	now := uint64(t.now().Unix())
	msg := p.Bytes()
	if t.mode == tsigSignedReply {
		msg = t.withUnsigned(msg, p.ID())
	}
	mac := t.mac(prior, msg, now, fudge, 0, nil, timersOnly)
	t.unsigned = nil
	rd := append([]byte(nil), t.algWire()...)
	rd = append(rd, byte(now>>40), byte(now>>32), byte(now>>24), byte(now>>16), byte(now>>8), byte(now))
	rd = binary.BigEndian.AppendUint16(rd, fudge)
	rd = binary.BigEndian.AppendUint16(rd, uint16(len(mac)))
	rd = append(rd, mac...)
	rd = binary.BigEndian.AppendUint16(rd, p.ID())
	rd = binary.BigEndian.AppendUint16(rd, 0) // error
	rd = binary.BigEndian.AppendUint16(rd, 0) // other len
	rr := &RRSet{Owner: &Name{Wire: t.Name}, Type: TypeTSIG, Class: ClassANY, RData: [][]byte{rd}}
	off := p.Size
	end := off + len(t.Name) + 10 + len(rd)
	if end > len(p.Buf) || p.Count(SectionAR) == 65535 {
		return ErrNoSpace
	}
	b := p.Buf
	copy(b[off:], t.Name)
	o := off + len(t.Name)
	binary.BigEndian.PutUint16(b[o:], TypeTSIG)
	binary.BigEndian.PutUint16(b[o+2:], ClassANY)
	binary.BigEndian.PutUint32(b[o+4:], 0)
	binary.BigEndian.PutUint16(b[o+8:], uint16(len(rd)))
	copy(b[o+10:], rd)
	p.Size = end
	p.setU16(offAR, p.Count(SectionAR)+1)
	p.section = SectionAR
	p.rrs = append(p.rrs, pktRR{section: SectionAR, rr: rr})
	p.tsig, p.tsigOff = rr, off
	t.lastMAC = mac
	if t.mode == tsigVerifiedQuery || t.mode == tsigSignedReply {
		t.mode = tsigSignedReply
	} else {
		t.mode = tsigSignedRequest
	}
	return nil
}

// Verify checks the TSIG RR of p and returns 0 or the TSIG error code
// (BADKEY also when p carries no TSIG, FORMERR when p does not parse).
func (t *TSIG) Verify(p *Packet) int {
	c := NewPacketFrom(p.Size, p.Bytes())
	if c.Parse(false) != 0 {
		return RcodeFormErr
	}
	if c.tsig == nil {
		return RcodeBadKey
	}
	r := &rdReader{b: c.tsig.RData[0]}
	alg := r.name()
	ts := r.bytes(6)
	fudge := uint16(r.u16())
	mac := r.bytes(r.u16())
	origID := r.u16()
	errCode := uint16(r.u16())
	other := r.bytes(r.u16())
	if !r.done() {
		return RcodeFormErr
	}
	if CompareNames(c.tsig.Owner.Wire, t.Name) != 0 {
		return RcodeBadKey
	}
	if a, ok := tsigAlgName((&Name{Wire: alg}).String()); !ok || a != t.Algorithm {
		return RcodeBadKey
	}
	var prior []byte
	timersOnly := false
	switch t.mode {
	case tsigSignedRequest:
		prior = t.lastMAC
	case tsigVerifiedReply:
		prior, timersOnly = t.lastMAC, true
	}
	msg := append([]byte(nil), c.Buf[:c.tsigOff]...)
	binary.BigEndian.PutUint16(msg, uint16(origID))
	binary.BigEndian.PutUint16(msg[offAR:], uint16(c.Count(SectionAR)-1))
	if t.mode == tsigVerifiedReply {
		msg = t.withUnsigned(msg, uint16(origID))
	}
	signed := uint64(ts[0])<<40 | uint64(ts[1])<<32 | uint64(ts[2])<<24 | uint64(ts[3])<<16 | uint64(ts[4])<<8 | uint64(ts[5])
	want := t.mac(prior, msg, signed, fudge, errCode, other, timersOnly)
	if !hmac.Equal(mac, want) {
		return RcodeBadSig
	}
	now := t.now().Unix()
	if d := now - int64(signed); d > int64(fudge) || -d > int64(fudge) {
		return RcodeBadTime
	}
	t.lastMAC = append([]byte(nil), mac...)
	t.unsigned = nil
	if t.mode == tsigSignedRequest || t.mode == tsigVerifiedReply {
		t.mode = tsigVerifiedReply
	} else {
		t.mode = tsigVerifiedQuery
	}
	return 0
}

// stripTSIG removes a TSIG RR ending the message (e.g. one copied from the
// query into its answer) so that a new one can be appended.
func (p *Packet) stripTSIG() {
	off := p.tsigOff
	if p.tsig == nil {
		c := NewPacketFrom(p.Size, p.Bytes())
		if c.Parse(false) != 0 || c.tsig == nil {
			return
		}
		off = c.tsigOff
	}
	if off < hdrLen || off > p.Size || p.Count(SectionAR) == 0 {
		return
	}
	p.Size = off
	p.setU16(offAR, p.Count(SectionAR)-1)
	for i := len(p.rrs) - 1; i >= 0; i-- {
		if p.rrs[i].rr.Type == TypeTSIG {
			p.rrs = append(p.rrs[:i], p.rrs[i+1:]...)
			break
		}
	}
	p.tsig, p.tsigOff = nil, -1
}

package dnsclient

import (
	"encoding/binary"
	"fmt"

	"ljdns/dnsmsg"
)

// xfrTracker follows the messages of a zone transfer (RFC 5936 AXFR, RFC
// 1995 IXFR) to tell the last one: the transfer ends with a second copy of
// the first SOA (AXFR, AXFR-style IXFR), after the last difference sequence
// (incremental IXFR), or with the first message when an IXFR answer is a
// lone SOA (the zone is current).
type xfrTracker struct {
	qtype  uint16
	msgs   int
	first  []byte // RDATA of the first SOA
	serial uint32
	count  int // records seen
	soas   int // copies of the first SOA seen
	incr   bool
	done   bool
}

// add takes the next message; it reports whether the transfer is complete.
func (x *xfrTracker) add(p *dnsmsg.Packet) (bool, error) {
	x.msgs++
	if x.done {
		return true, fmt.Errorf("%w: message after the end of the transfer", ErrXFR)
	}
	if rc := p.Rcode(); rc != 0 {
		return true, fmt.Errorf("%w: %s", ErrRcode, rcodeName(rc))
	}
	for _, rr := range p.Records(dnsmsg.SectionAN) {
		for _, rd := range rr.RData {
			x.count++
			isSOA := rr.Type == dnsmsg.TypeSOA
			if x.count == 1 {
				if !isSOA {
					return true, fmt.Errorf("%w: first record is %s, not SOA", ErrXFR, dnsmsg.TypeString(rr.Type))
				}
				x.first = append([]byte(nil), rd...)
				x.serial = soaSerial(rd)
				x.soas = 1
				continue
			}
			if x.count == 2 && x.qtype == typeIXFR && isSOA {
				x.incr = true
			}
			if isSOA && soaSerial(rd) == x.serial {
				x.soas++
			}
		}
	}
	switch {
	case x.count == 0:
		return true, fmt.Errorf("%w: empty answer", ErrXFR)
	case x.count == 1 && x.qtype == typeIXFR && x.msgs == 1 && p.Count(dnsmsg.SectionAN) == 1:
		x.done = true // lone SOA: nothing newer than the client's serial
	case !x.incr && x.soas >= 2:
		x.done = true
	case x.incr && x.soas >= 3:
		x.done = true
	}
	return x.done, nil
}

// soaSerial reads SERIAL from SOA RDATA (uncompressed, as dnsmsg parses it).
func soaSerial(rd []byte) uint32 {
	off, err := skipName(rd, 0)
	if err != nil {
		return 0
	}
	if off, err = skipName(rd, off); err != nil || off+4 > len(rd) {
		return 0
	}
	return binary.BigEndian.Uint32(rd[off:])
}

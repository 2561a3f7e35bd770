package dnsmsg

// pktRR is one record of a packet section: a parsed RR (one RDATA) or a
// set written with put.
type pktRR struct {
	section int
	rr      *RRSet
}

// pstate is the packet's writer/parser state (owned by packet.go).
type pstate struct {
	section   int               // current section (0 ANSWER .. 2 ADDITIONAL)
	qnameSize int               // wire length of QNAME in the message (0 = no question)
	parsed    int               // bytes consumed by the last parse
	rrs       []pktRR           // records in wire order
	opt       *RRSet            // OPT RR (nil if none)
	optOff    int               // wire offset of the OPT RR (-1 if not on the wire)
	tsig      *RRSet            // TSIG RR after parse (nil if none)
	tsigOff   int               // wire offset of the TSIG RR (-1 if none)
	comp      map[uint64]uint16 // name suffix hash -> wire offset (compression targets)
	compLog   []uint64          // keys added by the put in progress (rollback)
	qcomp     bool              // the question's names are still to be added to comp (on the first compressed write)
}

// Package nsid is the name server identifier of RFC 5001, as kresd 5's nsid
// module: a query carrying an (empty) NSID option gets the configured
// identifier back in the answer's OPT RR; other queries are untouched, and
// nothing is added until an identifier is set.
package nsid

import (
	"sync/atomic"

	"ljdns/daemon"
	"ljdns/dnsmsg"
)

// OptionNSID is the EDNS option code of RFC 5001.
const OptionNSID = 3

// NSID is the module's layer; its identifier may change while it serves.
type NSID struct{ id atomic.Pointer[[]byte] }

// New returns the layer answering with identifier id ("" : none yet).
func New(id string) *NSID {
	n := &NSID{}
	if id != "" {
		n.SetName(id)
	}
	return n
}

// Name is "nsid".
func (n *NSID) Name() string { return "nsid" }

// SetName sets the identifier sent back ("" stops sending it).
func (n *NSID) SetName(id string) {
	if id == "" {
		n.id.Store(nil)
		return
	}
	b := []byte(id)
	n.id.Store(&b)
}

// Get returns the identifier ("" when none is set).
func (n *NSID) Get() string {
	if p := n.id.Load(); p != nil {
		return string(*p)
	}
	return ""
}

// AnswerFinalize adds the NSID option to the answer when the query asked
// for it (RFC 5001 §2.1: the server includes it only when requested).
func (n *NSID) AnswerFinalize(r *daemon.Request, s daemon.State) daemon.State {
	p := n.id.Load()
	if p == nil {
		return s
	}
	opt := r.Query.OPT()
	if opt == nil {
		return s
	}
	if _, ok := dnsmsg.EDNSOption(opt, OptionNSID); ok {
		r.AddAnswerOption(OptionNSID, *p)
	}
	return s
}

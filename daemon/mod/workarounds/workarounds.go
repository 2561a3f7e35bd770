// Package workarounds is kresd 5's workarounds module: queries for names
// at or below a fixed list of zones whose servers are known to break on
// randomized QNAME case (DNS-OARC dns-violations DVE-2017-0003 and
// DVE-2017-0006) get the NO_0X20 flag, as kresd's workarounds.config()
// does with policy.suffix(policy.FLAGS('NO_0X20'), ...). ljdns's resolver
// does not randomize case, so the flag only shows in the request's
// options; the module exists so that configurations loading it work alike.
package workarounds

import (
	"bytes"

	"ljdns/daemon"
	"ljdns/dnsmsg"
)

// Zones are the names kresd 5.x lists.
var Zones = []string{
	"avqs.mcafee.com.", "avts.mcafee.com.", // DVE-2017-0003
	"cdnga.com.", "cdngc.com.", "cdngd.com.", "cdngl.com.", "cdngm.com.", // DVE-2017-0006
	"cdngc.net.", "panthercdn.com.",
	"magazine-fashion.net.",
}

// Workarounds is the module's layer.
type Workarounds struct{ zones [][]byte }

// New returns the layer over Zones.
func New() *Workarounds {
	w := &Workarounds{}
	for _, z := range Zones {
		n, _ := dnsmsg.NameFromText(z)
		w.zones = append(w.zones, dnsmsg.LowerName(n.Wire))
	}
	return w
}

// Name is "workarounds".
func (w *Workarounds) Name() string { return "workarounds" }

// Begin sets NO_0X20 for the listed zones.
func (w *Workarounds) Begin(r *daemon.Request, s daemon.State) daemon.State {
	q := r.QName()
	for _, z := range w.zones {
		if under(q, z) {
			r.Options |= daemon.No0x20
			break
		}
	}
	return s
}

// under reports whether wire name q is z or below it (z lower-case).
func under(q, z []byte) bool {
	for len(q) >= len(z) {
		if len(q) == len(z) {
			return bytes.Equal(dnsmsg.LowerName(q), z)
		}
		if q[0] == 0 || int(q[0])+1 > len(q) {
			return false
		}
		q = q[int(q[0])+1:]
	}
	return false
}

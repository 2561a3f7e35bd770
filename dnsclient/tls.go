package dnsclient

import (
	"crypto/tls"
	"fmt"
	"net/netip"

	"ljdns/tlscreds"
)

// tlsConfig builds the client configuration of a DNS-over-TLS transport
// the way dns.tls does (tlscreds): strict with a CA file, a hostname or
// pins, opportunistic otherwise.
func tlsConfig(o *TLSOptions, addr netip.AddrPort) (*tls.Config, error) {
	if o.Config != nil {
		return o.Config.Clone(), nil
	}
	c, err := tlscreds.Load(o.CAFile, "", "", o.Hostname)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTLS, err)
	}
	for _, p := range o.Pins {
		pin, err := tlscreds.ParsePin(p)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrTLS, err)
		}
		c.Pins = append(c.Pins, pin)
		c.Strict = true
	}
	return c.ClientConfig(addr.Addr().String()), nil
}

// Package dnsclient sends DNS queries upstream: the transports of domain's
// net::client (../shared/seeds/domain-client-transports.txt) in plain Go
// over dnsmsg packets, shared by the daemon and by the Lua module
// dns.client (luamod/client). It imports nothing of Lua.
//
//	d, _ := dnsclient.NewDgramStream("127.0.0.1#53", dnsclient.DgramStreamOptions{})
//	q, _ := dnsclient.NewQuery("www.example.org", dnsmsg.TypeAAAA) // RD and AD set
//	a, err := d.Query(ctx, q)                                    // a.ID() == q.ID()
//
//	s, _ := dnsclient.NewMultiStream("192.0.2.53", dnsclient.StreamOptions{
//		TLS: &dnsclient.TLSOptions{Hostname: "dns.example.org", CAFile: "ca.pem"}})
//	err = s.Stream(ctx, axfr, func(m *dnsmsg.Packet) error { ...; return nil })
//
// Transports: Dgram (UDP), Stream (one TCP or TLS connection, pipelined),
// MultiStream (reconnecting stream), DgramStream (UDP, TCP on TC), HTTPS
// (DNS over HTTPS, RFC 8484), Redundant (several upstreams, fastest first), Cache (answers by TTL),
// TSIGTransport (signs queries, verifies answers). Every one implements
// Transport, and the wrappers take any Transport.
//
// Every transport refuses destinations outside LJDNS_OUTGOING_ALLOW
// (ErrRefusedByPolicy): at construction, and the stream transports again
// at each connection.
package dnsclient

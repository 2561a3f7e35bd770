package authority

import (
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"testing"
)

// serve runs e on a UDP and a TCP listener at addr for the test's life
// (the daemon integration comes later; this is the tests' own listener).
func serve(t testing.TB, e *Engine, addr netip.AddrPort) {
	t.Helper()
	uc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		t.Fatal(err)
	}
	tl, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(addr))
	if err != nil {
		uc.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { uc.Close(); tl.Close() })
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := uc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if out := e.Answer(buf[:n], false); out != nil {
				uc.WriteToUDPAddrPort(out, from)
			}
		}
	}()
	go func() {
		for {
			c, err := tl.Accept()
			if err != nil {
				return
			}
			go serveTCP(e, c)
		}
	}()
}

func serveTCP(e *Engine, c net.Conn) {
	defer c.Close()
	var l [2]byte
	for {
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return
		}
		q := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, q); err != nil {
			return
		}
		if qt := binary.BigEndian.Uint16(q[len(q)-4:]); len(q) > 16 && (qt == typeAXFR) {
			msgs, err := e.Transfer(q)
			if err != nil {
				return
			}
			for _, m := range msgs {
				c.Write(binary.BigEndian.AppendUint16(nil, uint16(len(m))))
				c.Write(m)
			}
			continue
		}
		out := e.Answer(q, true)
		if out == nil {
			return
		}
		c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(out))), out...))
	}
}

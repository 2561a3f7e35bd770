package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// listenerGroup is one Listen of the configuration: per worker, its own
// SO_REUSEPORT sockets (UDP and/or a stream listener).
type listenerGroup struct {
	spec Listen
	addr netip.AddrPort // the bound address (real port)
	udp  []*net.UDPConn // per worker (KindDNS)
	tcp  []net.Listener // per worker (all kinds but UDP-only DNS)

	mu      sync.Mutex
	stopped bool
	closers []func() // HTTP servers and such, closed with the group
	conns   map[net.Conn]struct{}
}

// listenControl sets SO_REUSEPORT (and IP_FREEBIND) on a socket before bind.
func listenControl(freebind bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); serr != nil {
				return
			}
			if freebind {
				if network[len(network)-1] == '6' {
					serr = unix.SetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_FREEBIND, 1)
				} else {
					serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_FREEBIND, 1)
				}
			}
		})
		if err != nil {
			return err
		}
		return serr
	}
}

func netFor(base string, a netip.AddrPort) string {
	if a.Addr().Is4() || a.Addr().Is4In6() {
		return base + "4"
	}
	return base + "6"
}

// openListeners opens the sockets of every Listen of cfg not in have,
// for each worker. On error it closes what it opened.
func (s *Server) openListeners(cfg *Config, have map[string]*listenerGroup) (map[string]*listenerGroup, error) {
	out := map[string]*listenerGroup{}
	fail := func(err error) (map[string]*listenerGroup, error) {
		for _, lg := range out {
			lg.close()
		}
		return nil, err
	}
	for _, l := range cfg.Listen {
		k := l.String()
		if _, ok := matchGroup(have, l); ok || out[k] != nil {
			continue
		}
		if err := s.checkPrivileged(l); err != nil {
			return fail(err)
		}
		lg, err := s.openGroup(l)
		if err != nil {
			return fail(err)
		}
		out[k] = lg
	}
	return out, nil
}

// matchGroup finds the open group serving l: the same specification, or
// the same kind and options bound to l's address (a configuration that
// names the port an earlier one got for port 0).
func matchGroup(have map[string]*listenerGroup, l Listen) (string, bool) {
	k := l.String()
	if have[k] != nil {
		return k, true
	}
	if l.FD > 0 {
		return "", false
	}
	for hk, lg := range have {
		sp := lg.spec
		if sp.FD == 0 && lg.addr == l.Addr && sp.Kind == l.Kind && sp.Freebind == l.Freebind &&
			sp.NoUDP == l.NoUDP && sp.NoTCP == l.NoTCP && sp.Plain == l.Plain {
			return hk, true
		}
	}
	return "", false
}

// openGroup opens l's sockets. For port 0 the kernel picks the UDP port and
// TCP must get the same number, which another process may hold: then the
// whole group is tried again on a new port (20 tries at most).
func (s *Server) openGroup(l Listen) (*listenerGroup, error) {
	for attempt := 1; ; attempt++ {
		lg, err := s.openGroupOnce(l)
		if err == nil || l.Addr.Port() != 0 || l.FD > 0 || attempt == 20 || !errors.Is(err, syscall.EADDRINUSE) {
			return lg, err
		}
	}
}

func (s *Server) openGroupOnce(l Listen) (*listenerGroup, error) {
	lg := &listenerGroup{spec: l, addr: l.Addr, conns: map[net.Conn]struct{}{}}
	if l.FD > 0 {
		if err := lg.inherit(l.FD, s.workers); err != nil {
			return nil, err
		}
		return lg, nil
	}
	lc := net.ListenConfig{Control: listenControl(l.Freebind)}
	ctx := context.Background()
	wantUDP := l.Kind == KindDNS && !l.NoUDP
	wantTCP := l.Kind != KindDNS || !l.NoTCP
	for w := 0; w < s.workers; w++ {
		addr := lg.addr
		if wantUDP {
			pc, err := lc.ListenPacket(ctx, netFor("udp", addr), addr.String())
			if err != nil {
				lg.close()
				return nil, fmt.Errorf("daemon: listen %s: %w", l, err)
			}
			u := pc.(*net.UDPConn)
			lg.udp = append(lg.udp, u)
			if lg.addr.Port() == 0 {
				lg.addr = u.LocalAddr().(*net.UDPAddr).AddrPort()
				addr = lg.addr
			}
		}
		if wantTCP {
			ln, err := lc.Listen(ctx, netFor("tcp", addr), addr.String())
			if err != nil {
				lg.close()
				return nil, fmt.Errorf("daemon: listen %s: %w", l, err)
			}
			lg.tcp = append(lg.tcp, ln)
			if lg.addr.Port() == 0 {
				lg.addr = ln.Addr().(*net.TCPAddr).AddrPort()
			}
		}
	}
	lg.addr = netip.AddrPortFrom(lg.addr.Addr().Unmap(), lg.addr.Port())
	return lg, nil
}

// inherit takes an inherited socket (-S fd): a datagram socket serves UDP,
// a stream socket TCP, for every worker (they share it).
func (lg *listenerGroup) inherit(fd, workers int) error {
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return fmt.Errorf("daemon: fd %d is not a socket: %w", fd, err)
	}
	f := os.NewFile(uintptr(fd), fmt.Sprintf("fd%d", fd))
	defer f.Close()
	switch typ {
	case unix.SOCK_DGRAM:
		pc, err := net.FilePacketConn(f)
		if err != nil {
			return fmt.Errorf("daemon: fd %d: %w", fd, err)
		}
		u, ok := pc.(*net.UDPConn)
		if !ok {
			pc.Close()
			return fmt.Errorf("daemon: fd %d is not a UDP socket", fd)
		}
		lg.udp = []*net.UDPConn{u}
		lg.addr = u.LocalAddr().(*net.UDPAddr).AddrPort()
	case unix.SOCK_STREAM:
		ln, err := net.FileListener(f)
		if err != nil {
			return fmt.Errorf("daemon: fd %d: %w", fd, err)
		}
		lg.tcp = []net.Listener{ln}
		if ta, ok := ln.Addr().(*net.TCPAddr); ok {
			lg.addr = ta.AddrPort()
		}
	default:
		return fmt.Errorf("daemon: fd %d: unsupported socket type %d", fd, typ)
	}
	return nil
}

// serveGroup starts the goroutines of a group: one reader per worker and
// UDP socket, one accept loop per worker and stream listener.
func (s *Server) serveGroup(lg *listenerGroup) {
	for w, u := range lg.udp {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveUDP(w, u, lg)
		}()
	}
	switch lg.spec.Kind {
	case KindDNS, KindTLS:
		for w, ln := range lg.tcp {
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.acceptLoop(w, ln, lg)
			}()
		}
	case KindDoH2:
		s.serveDoH(lg)
	case KindWebmgmt:
		s.serveWeb(lg)
	}
}

// track records a stream connection of the group (closed with it).
func (lg *listenerGroup) track(c net.Conn, add bool) bool {
	lg.mu.Lock()
	defer lg.mu.Unlock()
	if add {
		if lg.stopped {
			return false
		}
		lg.conns[c] = struct{}{}
	} else {
		delete(lg.conns, c)
	}
	return true
}

// stopAccepting closes the listening sockets (UDP readers stop too) but
// leaves open connections to finish.
func (lg *listenerGroup) stopAccepting() {
	lg.mu.Lock()
	lg.stopped = true
	lg.mu.Unlock()
	for _, ln := range lg.tcp {
		ln.Close()
	}
	for _, u := range lg.udp {
		u.Close()
	}
}

// close closes the sockets, the servers and every open connection.
func (lg *listenerGroup) close() {
	lg.stopAccepting()
	lg.mu.Lock()
	closers := lg.closers
	lg.closers = nil
	conns := make([]net.Conn, 0, len(lg.conns))
	for c := range lg.conns {
		conns = append(conns, c)
	}
	lg.mu.Unlock()
	for _, f := range closers {
		f()
	}
	for _, c := range conns {
		c.Close()
	}
}

func isClosed(err error) bool { return errors.Is(err, net.ErrClosed) }

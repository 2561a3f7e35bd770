package daemon

import (
	"fmt"
	"os/user"
	"strconv"
	"syscall"
)

// dropPrivileges switches the process to user and group (kresd's user()),
// after the listeners of the first configuration are bound. Go applies
// setuid/setgid to every thread.
func (s *Server) dropPrivileges(userName, groupName string) error {
	u, err := user.Lookup(userName)
	if err != nil {
		return fmt.Errorf("daemon: user(%q): %w", userName, err)
	}
	gid := u.Gid
	if groupName != "" {
		g, err := user.LookupGroup(groupName)
		if err != nil {
			return fmt.Errorf("daemon: user(%q, %q): %w", userName, groupName, err)
		}
		gid = g.Gid
	}
	uidN, _ := strconv.Atoi(u.Uid)
	gidN, _ := strconv.Atoi(gid)
	if err := syscall.Setgroups([]int{gidN}); err != nil {
		return fmt.Errorf("daemon: user(): setgroups: %w", err)
	}
	if err := syscall.Setgid(gidN); err != nil {
		return fmt.Errorf("daemon: user(): setgid: %w", err)
	}
	if err := syscall.Setuid(uidN); err != nil {
		return fmt.Errorf("daemon: user(): setuid: %w", err)
	}
	s.dropped.Store(true)
	s.log.Noticef("system", "running as %s:%s", u.Username, gid)
	return nil
}

// checkPrivileged refuses a listener on a port below 1024 once privileges
// are dropped (SERVE.md §4: a clear message instead of EACCES).
func (s *Server) checkPrivileged(l Listen) error {
	if s.dropped.Load() && l.FD <= 0 && l.Addr.Port() > 0 && l.Addr.Port() < 1024 {
		return fmt.Errorf("daemon: cannot listen on %s: privileged port after user() dropped privileges (restart instead of reloading)", l)
	}
	return nil
}

package compat

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"

	"ljdns/luabind"
)

// syscallLoader opens the ljsyscall subset (API.md §3.4).
func syscallLoader(L *lua.LState) int {
	registerFD(L)
	registerSysError(L)
	S := luabind.NewModule(L, "syscall", syscallExports)
	c := L.NewTable()
	for name, tab := range constTables() {
		t := L.NewTable()
		for k, v := range tab {
			t.RawSetString(k, lua.LNumber(v))
		}
		c.RawSetString(name, multiflags(L, t))
	}
	S.RawSetString("c", c)
	S.RawSetString("util", luabind.NewModule(L, "syscall.util", utilExports))
	S.RawSetString("t", luabind.NewModule(L, "syscall.t", typeExports))
	L.Push(S)
	return 1
}

var syscallExports = map[string]lua.LGFunction{
	"socketpair": sysSocketpair,
	"getcwd": func(L *lua.LState) int {
		d, err := unix.Getwd()
		if err != nil {
			return pushSysError(L, err)
		}
		L.Push(lua.LString(d))
		return 1
	},
	"chdir": func(L *lua.LState) int { return pushOK(L, unix.Chdir(L.CheckString(1))) },
	// isatty(fd) -> boolean: fd (number or fd object) is a terminal
	"isatty": func(L *lua.LState) int {
		_, err := unix.IoctlGetTermios(fdArg(L, 1), unix.TCGETS)
		return luabind.Bool(L, err == nil)
	},
	"mkdir": func(L *lua.LState) int {
		return pushOK(L, unix.Mkdir(L.CheckString(1), checkMode(L, 2, 0o777)))
	},
	"rmdir":  func(L *lua.LState) int { return pushOK(L, unix.Rmdir(L.CheckString(1))) },
	"unlink": func(L *lua.LState) int { return pushOK(L, unix.Unlink(L.CheckString(1))) },
	"rename": func(L *lua.LState) int { return pushOK(L, unix.Rename(L.CheckString(1), L.CheckString(2))) },
	"stat":   func(L *lua.LState) int { return sysStat(L, unix.Stat) },
	"lstat":  func(L *lua.LState) int { return sysStat(L, unix.Lstat) },
	"fstat": func(L *lua.LState) int {
		var st unix.Stat_t
		if err := unix.Fstat(fdArg(L, 1), &st); err != nil {
			return pushSysError(L, err)
		}
		L.Push(statTable(L, &st))
		return 1
	},
	"access": func(L *lua.LState) int {
		mode := uint32(0)
		switch m := L.Get(2).(type) {
		case lua.LNumber:
			mode = uint32(m)
		case lua.LString:
			for _, r := range string(m) {
				mode |= map[rune]uint32{'r': unix.R_OK, 'w': unix.W_OK, 'x': unix.X_OK}[r]
			}
		}
		return pushOK(L, unix.Access(L.CheckString(1), mode))
	},
	"open": func(L *lua.LState) int {
		flags := checkFlags(L, 2, "O", 0)
		fd, err := unix.Open(L.CheckString(1), flags|unix.O_CLOEXEC, checkMode(L, 3, 0o666))
		if err != nil {
			return pushSysError(L, err)
		}
		pushFD(L, fd)
		return 1
	},
	"close": func(L *lua.LState) int {
		if _, ok := luabind.Test[*FD](L, 1); ok {
			return fdMethods["close"](L)
		}
		return pushOK(L, unix.Close(luabind.CheckInt(L, 1)))
	},
	"read":   sysRead,
	"write":  sysWrite,
	"getpid": func(L *lua.LState) int { L.Push(lua.LNumber(unix.Getpid())); return 1 },
	"getuid": func(L *lua.LState) int { L.Push(lua.LNumber(unix.Getuid())); return 1 },
	"getgid": func(L *lua.LState) int { L.Push(lua.LNumber(unix.Getgid())); return 1 },
}

// sysSocketpair implements S.socketpair(domain, type [, protocol]) →
// true, nil, fd1, fd2 (ljsyscall's shape) or nil, err.
func sysSocketpair(L *lua.LState) int {
	domain := checkFlags(L, 1, "AF", unix.AF_UNIX)
	typ := checkFlags(L, 2, "SOCK", unix.SOCK_STREAM)
	fds, err := unix.Socketpair(domain, typ|unix.SOCK_CLOEXEC, luabind.OptInt(L, 3, 0))
	if err != nil {
		return pushSysError(L, err)
	}
	L.Push(lua.LTrue)
	L.Push(lua.LNil)
	pushFD(L, fds[0])
	pushFD(L, fds[1])
	return 4
}

// constTables are the S.c tables (multiflags: S.c.SOCK['stream, nonblock']).
func constTables() map[string]map[string]int {
	e := map[string]int{}
	for name, v := range errnoByName {
		e[name[1:]] = int(v)
	}
	return map[string]map[string]int{
		"E":       e,
		"AF":      {"UNSPEC": unix.AF_UNSPEC, "UNIX": unix.AF_UNIX, "LOCAL": unix.AF_UNIX, "INET": unix.AF_INET, "INET6": unix.AF_INET6},
		"SOCK":    {"STREAM": unix.SOCK_STREAM, "DGRAM": unix.SOCK_DGRAM, "SEQPACKET": unix.SOCK_SEQPACKET, "RAW": unix.SOCK_RAW, "NONBLOCK": unix.SOCK_NONBLOCK, "CLOEXEC": unix.SOCK_CLOEXEC},
		"IPPROTO": {"IP": unix.IPPROTO_IP, "TCP": unix.IPPROTO_TCP, "UDP": unix.IPPROTO_UDP, "IPV6": unix.IPPROTO_IPV6},
		"O": {"RDONLY": unix.O_RDONLY, "WRONLY": unix.O_WRONLY, "RDWR": unix.O_RDWR, "CREAT": unix.O_CREAT,
			"EXCL": unix.O_EXCL, "TRUNC": unix.O_TRUNC, "APPEND": unix.O_APPEND, "NONBLOCK": unix.O_NONBLOCK,
			"CLOEXEC": unix.O_CLOEXEC, "DIRECTORY": unix.O_DIRECTORY, "NOFOLLOW": unix.O_NOFOLLOW, "SYNC": unix.O_SYNC},
		"MODE": modeNames,
	}
}

// modeNames are ljsyscall's symbolic permission names (S.c.MODE).
var modeNames = map[string]int{
	"SUID": 0o4000, "SGID": 0o2000, "SVTX": 0o1000,
	"RWXU": 0o700, "RUSR": 0o400, "WUSR": 0o200, "XUSR": 0o100,
	"RWXG": 0o070, "RGRP": 0o040, "WGRP": 0o020, "XGRP": 0o010,
	"RWXO": 0o007, "ROTH": 0o004, "WOTH": 0o002, "XOTH": 0o001,
}

var octalRE = regexp.MustCompile(`^\s*[0-7]+\s*$`)

// ParseMode parses a mode given as an octal string ("0755") or
// comma-separated symbolic names ("rwxu, rgrp").
func ParseMode(s string) (uint32, error) {
	if octalRE.MatchString(s) {
		n, err := strconv.ParseUint(strings.TrimSpace(s), 8, 32)
		return uint32(n), err
	}
	var m uint32
	for _, p := range splitFlags(s) {
		v, ok := modeNames[p]
		if !ok {
			return 0, errors.New("invalid mode flag " + p)
		}
		m |= uint32(v)
	}
	return m, nil
}

// checkMode returns argument n as a file mode (number, octal string or symbolic).
func checkMode(L *lua.LState, n int, def uint32) uint32 {
	switch v := L.Get(n).(type) {
	case *lua.LNilType:
		return def
	case lua.LNumber:
		return uint32(v)
	case lua.LString:
		m, err := ParseMode(string(v))
		if err != nil {
			L.ArgError(n, err.Error())
		}
		return m
	}
	L.ArgError(n, "mode expected, got "+luabind.TypeName(L.Get(n)))
	return 0
}

// checkFlags returns argument n as flags of S.c[table]: a number, or a
// comma-separated case-insensitive string.
func checkFlags(L *lua.LState, n int, table string, def int) int {
	switch v := L.Get(n).(type) {
	case *lua.LNilType:
		return def
	case lua.LNumber:
		return int(v)
	case lua.LString:
		names := constTables()[table]
		f := 0
		for _, p := range splitFlags(string(v)) {
			x, ok := names[p]
			if !ok {
				L.ArgError(n, "invalid flag "+p)
			}
			f |= x
		}
		return f
	}
	L.ArgError(n, "flags expected, got "+luabind.TypeName(L.Get(n)))
	return 0
}

// sysStat implements S.stat/S.lstat(path) → stat table or nil, err.
func sysStat(L *lua.LState, fn func(string, *unix.Stat_t) error) int {
	var st unix.Stat_t
	if err := fn(L.CheckString(1), &st); err != nil {
		return pushSysError(L, err)
	}
	L.Push(statTable(L, &st))
	return 1
}

// statTable converts a stat buffer to the fields ljsyscall's stat has.
func statTable(L *lua.LState, st *unix.Stat_t) *lua.LTable {
	t := L.NewTable()
	num := func(k string, v float64) { t.RawSetString(k, lua.LNumber(v)) }
	num("dev", float64(st.Dev))
	num("ino", float64(st.Ino))
	num("mode", float64(st.Mode))
	num("nlink", float64(st.Nlink))
	num("uid", float64(st.Uid))
	num("gid", float64(st.Gid))
	num("rdev", float64(st.Rdev))
	num("size", float64(st.Size))
	num("blksize", float64(st.Blksize))
	num("blocks", float64(st.Blocks))
	num("atime", float64(st.Atim.Sec)+float64(st.Atim.Nsec)/1e9)
	num("mtime", float64(st.Mtim.Sec)+float64(st.Mtim.Nsec)/1e9)
	num("ctime", float64(st.Ctim.Sec)+float64(st.Ctim.Nsec)/1e9)
	num("perms", float64(st.Mode&0o7777))
	ft := st.Mode & unix.S_IFMT
	for k, v := range map[string]uint32{"isreg": unix.S_IFREG, "isdir": unix.S_IFDIR, "ischr": unix.S_IFCHR,
		"isblk": unix.S_IFBLK, "isfifo": unix.S_IFIFO, "islnk": unix.S_IFLNK, "issock": unix.S_IFSOCK} {
		t.RawSetString(k, lua.LBool(ft == v))
	}
	return t
}

var utilExports = map[string]lua.LGFunction{
	"rm":       utilRm,
	"dirtable": utilDirtable,
}

// utilRm implements S.util.rm(path...): recursive delete; a missing path
// gives nil, err (ENOENT), never a raise.
func utilRm(L *lua.LState) int {
	for i := 1; i <= L.GetTop(); i++ {
		p := L.CheckString(i)
		if _, err := os.Lstat(p); err != nil {
			return pushSysError(L, err)
		}
		if err := os.RemoveAll(p); err != nil {
			return pushSysError(L, err)
		}
	}
	L.Push(lua.LTrue)
	return 1
}

// utilDirtable implements S.util.dirtable(path [, nodots]) → array of names.
func utilDirtable(L *lua.LState) int {
	ents, err := os.ReadDir(L.CheckString(1))
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return pushSysError(L, err)
	}
	t := L.NewTable()
	if !luabind.Truthy(L, 2) {
		t.Append(lua.LString("."))
		t.Append(lua.LString(".."))
	}
	for _, e := range ents {
		t.Append(lua.LString(e.Name()))
	}
	L.Push(t)
	return 1
}

var typeExports = map[string]lua.LGFunction{
	"buffer": func(L *lua.LState) int {
		n := luabind.CheckInt(L, 1)
		if n < 0 {
			L.ArgError(1, "negative size")
		}
		v := luabind.NewBuffer(n)
		v.CType, v.Signed = "char [?]", true
		luabind.PushView(L, v)
		return 1
	},
	"sockaddr_in":  func(L *lua.LState) int { return pushInetAddr(L, "0.0.0.0", true) },
	"sockaddr_in6": func(L *lua.LState) int { return pushInetAddr(L, "::", false) },
	"sockaddr_un": func(L *lua.LState) int {
		luabind.PushSockaddr(L, &luabind.Sockaddr{Path: L.OptString(1, "")})
		return 1
	},
	"sockaddr_storage": func(L *lua.LState) int {
		luabind.PushSockaddr(L, &luabind.Sockaddr{})
		return 1
	},
	"error": func(L *lua.LState) int {
		var e unix.Errno
		switch v := L.Get(1).(type) {
		case lua.LNumber:
			e = unix.Errno(v)
		case lua.LString:
			e = errnoByName[string(v)]
			if e == 0 {
				e = errnoByName["E"+string(v)]
			}
		}
		if e == 0 {
			L.ArgError(1, "errno expected")
		}
		luabind.Push(L, syserrTypeName, &SysError{Errno: e})
		return 1
	},
	"fd": func(L *lua.LState) int {
		pushFD(L, luabind.CheckInt(L, 1))
		return 1
	},
}

// pushInetAddr implements S.t.sockaddr_in/in6([port [, addr]]).
func pushInetAddr(L *lua.LState, def string, v4 bool) int {
	port := luabind.OptInt(L, 1, 0)
	if port < 0 || port > 65535 {
		L.ArgError(1, "port out of range")
	}
	text := def
	switch a := L.Get(2).(type) {
	case lua.LString:
		text = string(a)
	case *lua.LUserData:
		if s, ok := a.Value.(*luabind.Sockaddr); ok {
			text = s.String()
		}
	}
	addr, err := netip.ParseAddr(text)
	if err != nil || addr.Is4() != v4 && !(v4 && addr.Is4In6()) {
		L.ArgError(2, "invalid address '"+text+"'")
	}
	if v4 {
		addr = addr.Unmap()
	}
	luabind.PushSockaddr(L, &luabind.Sockaddr{Addr: netip.AddrPortFrom(addr, uint16(port))})
	return 1
}

package compat

import (
	"errors"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"

	"ljdns/luabind"
)

// syserrTypeName is the registry name of syscall error objects.
const syserrTypeName = "syscall.error"

// SysError is a syscall error object: tostring(err) is the strerror text,
// err.errno the number, err.sym the symbolic name ("ENOENT"), and
// err.NOENT (any name, with or without the E) is true when it matches.
type SysError struct {
	Errno unix.Errno
}

// Error returns the C strerror text ("No such file or directory").
func (e *SysError) Error() string {
	s := e.Errno.Error()
	if s == "" {
		return "Unknown error"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func registerSysError(L *lua.LState) {
	luabind.RegisterType(L, luabind.TypeSpec{Name: syserrTypeName, Meta: map[string]lua.LGFunction{
		"__tostring": func(L *lua.LState) int {
			L.Push(lua.LString(luabind.Check[*SysError](L, 1, syserrTypeName).Error()))
			return 1
		},
		"__index": func(L *lua.LState) int {
			e := luabind.Check[*SysError](L, 1, syserrTypeName)
			k := L.CheckString(2)
			switch k {
			case "errno":
				L.Push(lua.LNumber(e.Errno))
			case "sym":
				L.Push(lua.LString(unix.ErrnoName(e.Errno)))
			case "msg", "message":
				L.Push(lua.LString(e.Error()))
			default:
				name := strings.ToUpper(k)
				v, ok := errnoByName[name]
				if !ok {
					v, ok = errnoByName["E"+name]
				}
				if !ok {
					L.Push(lua.LNil)
				} else {
					L.Push(lua.LBool(v == e.Errno))
				}
			}
			return 1
		},
		"__eq": func(L *lua.LState) int {
			a, _ := luabind.Test[*SysError](L, 1)
			b, _ := luabind.Test[*SysError](L, 2)
			return luabind.Bool(L, a != nil && b != nil && a.Errno == b.Errno)
		},
		"__concat": func(L *lua.LState) int {
			L.Push(lua.LString(errText(L.Get(1)) + errText(L.Get(2))))
			return 1
		},
	}})
}

// errnoByName maps "ENOENT" to its number, for err.NOENT and S.c.E.
var errnoByName = func() map[string]unix.Errno {
	m := map[string]unix.Errno{}
	for e := unix.Errno(1); e < 200; e++ {
		if name := unix.ErrnoName(e); name != "" {
			m[name] = e
		}
	}
	m["EWOULDBLOCK"] = unix.EWOULDBLOCK
	return m
}()

func errText(v lua.LValue) string {
	if e, ok := luabind.As[*SysError](v); ok {
		return e.Error()
	}
	return lua.LVAsString(v)
}

// pushSysError pushes nil and an error object for err (the `nil, err`
// convention) and records its errno for ffi.errno(). It returns 2.
func pushSysError(L *lua.LState, err error) int {
	var en unix.Errno
	if !errors.As(err, &en) {
		en = unix.EIO
	}
	setErrno(L, int(en))
	L.Push(lua.LNil)
	luabind.Push(L, syserrTypeName, &SysError{Errno: en})
	return 2
}

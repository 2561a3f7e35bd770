package compat

import (
	"fmt"

	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"

	"ljdns/luabind"
)

// fdTypeName is the registry name of syscall file-descriptor objects.
const fdTypeName = "syscall.fd"

// FD is an ljsyscall file-descriptor object. Fd is -1 once closed.
type FD struct {
	Fd   int
	NoGC bool // set by :nogc(); kept for compatibility (there are no finalisers)
}

func registerFD(L *lua.LState) {
	luabind.RegisterType(L, luabind.TypeSpec{Name: fdTypeName, Methods: fdMethods, Meta: map[string]lua.LGFunction{
		"__index": func(L *lua.LState) int {
			f := luabind.Check[*FD](L, 1, fdTypeName)
			k := L.Get(2)
			if k == lua.LString("fileno") || k == lua.LString("filenum") {
				L.Push(lua.LNumber(f.Fd))
				return 1
			}
			L.Push(luabind.Methods(L, fdTypeName).RawGet(k))
			return 1
		},
		"__tostring": func(L *lua.LState) int {
			L.Push(lua.LString(fmt.Sprintf("fd: %d", luabind.Check[*FD](L, 1, fdTypeName).Fd)))
			return 1
		},
		"__eq": func(L *lua.LState) int {
			a, _ := luabind.Test[*FD](L, 1)
			b, _ := luabind.Test[*FD](L, 2)
			return luabind.Bool(L, a != nil && b != nil && a.Fd == b.Fd)
		},
	}})
}

// pushFD pushes a new fd object for descriptor fd.
func pushFD(L *lua.LState, fd int) *FD {
	f := &FD{Fd: fd}
	luabind.Push(L, fdTypeName, f)
	return f
}

func checkFD(L *lua.LState, n int) *FD {
	return luabind.Check[*FD](L, n, fdTypeName)
}

// fdArg returns argument n as a descriptor: a number or an fd object.
func fdArg(L *lua.LState, n int) int {
	if f, ok := luabind.Test[*FD](L, n); ok {
		return f.Fd
	}
	return luabind.CheckInt(L, n)
}

// pushOK pushes true and returns 1, or the error object when err != nil.
func pushOK(L *lua.LState, err error) int {
	if err != nil {
		return pushSysError(L, err)
	}
	L.Push(lua.LTrue)
	return 1
}

var fdMethods = map[string]lua.LGFunction{
	"getfd": func(L *lua.LState) int {
		L.Push(lua.LNumber(checkFD(L, 1).Fd))
		return 1
	},
	"nonblock": func(L *lua.LState) int {
		return pushOK(L, unix.SetNonblock(checkFD(L, 1).Fd, true))
	},
	"block": func(L *lua.LState) int {
		return pushOK(L, unix.SetNonblock(checkFD(L, 1).Fd, false))
	},
	"nogc": func(L *lua.LState) int {
		checkFD(L, 1).NoGC = true
		L.Push(L.Get(1))
		return 1
	},
	"close": func(L *lua.LState) int {
		f := checkFD(L, 1)
		if f.Fd < 0 {
			L.Push(lua.LTrue)
			return 1
		}
		err := unix.Close(f.Fd)
		f.Fd = -1
		return pushOK(L, err)
	},
	"read": func(L *lua.LState) int { // fd:read([buf,] count)
		L.Insert(lua.LNumber(checkFD(L, 1).Fd), 1)
		L.Remove(2)
		return sysRead(L)
	},
	"write": func(L *lua.LState) int { // fd:write(buf [, count])
		L.Insert(lua.LNumber(checkFD(L, 1).Fd), 1)
		L.Remove(2)
		return sysWrite(L)
	},
	"stat": func(L *lua.LState) int {
		var st unix.Stat_t
		if err := unix.Fstat(checkFD(L, 1).Fd, &st); err != nil {
			return pushSysError(L, err)
		}
		L.Push(statTable(L, &st))
		return 1
	},
}

// sysRead implements S.read(fd, buf, count): with a buffer, the number of
// bytes read into it; without (nil buf), the bytes read as a string.
func sysRead(L *lua.LState) int {
	fd := fdArg(L, 1)
	count := luabind.OptInt(L, 3, 4096)
	if v, ok := luabind.Test[*luabind.View](L, 2); ok {
		b := v.LuaBytes()
		if v.ReadOnly || count > len(b) || count < 0 {
			L.ArgError(3, "count exceeds the buffer")
		}
		n, err := unix.Read(fd, b[:count])
		if err != nil {
			return pushSysError(L, err)
		}
		L.Push(lua.LNumber(n))
		return 1
	}
	if n, ok := L.Get(2).(lua.LNumber); ok && L.Get(3) == lua.LNil { // read(fd, count)
		count = int(n)
	}
	if count < 0 {
		L.ArgError(3, "negative count")
	}
	b := make([]byte, count)
	n, err := unix.Read(fd, b)
	if err != nil {
		return pushSysError(L, err)
	}
	L.Push(lua.LString(b[:n]))
	return 1
}

// sysWrite implements S.write(fd, buf [, count]) → bytes written.
func sysWrite(L *lua.LState) int {
	fd := fdArg(L, 1)
	b := luabind.CheckBytes(L, 2, 3)
	n, err := unix.Write(fd, b)
	if err != nil {
		return pushSysError(L, err)
	}
	L.Push(lua.LNumber(n))
	return 1
}

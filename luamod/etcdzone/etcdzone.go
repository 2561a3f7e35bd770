// Package etcdzone is the Lua module dns.etcdzone: the zone store of
// etcdstore (issue 17) from any ljdns script, the functions of `ljdns zone`:
//
//	local ez = require('dns.etcdzone')
//	local store = assert(ez.connect({endpoints = {'127.0.0.1:2379'}, prefix = '/dns/'}))
//	store:push(name, file)          -> serial | nil, err   (staged, switched whole)
//	store:push_text(name, text)     -> serial | nil, err
//	store:get(name)                 -> zone text | nil, err
//	store:edit(name, lines)         -> serial | nil, err   ('add ...' / 'del ...' lines, one transaction)
//	store:delete(name)              -> true | nil, err
//	store:list()                    -> {origin, ...} | nil, err
//	store:close()
//
// Calls block the script until etcd answers (at most 60 s each).
package etcdzone

import (
	"bytes"
	"context"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"ljdns/etcdstore"
	"ljdns/luabind"
)

const storeType = "dns.etcdzone.store"

// Modules lists the Lua modules of this package.
var Modules = []luabind.Module{{Name: "dns.etcdzone", Load: loader}}

func loader(L *lua.LState) int {
	luabind.RegisterType(L, luabind.TypeSpec{Name: storeType, Methods: methods})
	L.Push(luabind.NewModule(L, "dns.etcdzone", map[string]lua.LGFunction{"connect": connect}))
	return 1
}

// connect({endpoints = {...} | 'a,b', prefix = '/dns/'}) -> store | nil, err
func connect(L *lua.LState) int {
	t := L.CheckTable(1)
	var eps []string
	switch v := t.RawGetString("endpoints").(type) {
	case lua.LString:
		eps = strings.Split(string(v), ",")
	case *lua.LTable:
		v.ForEach(func(_, x lua.LValue) { eps = append(eps, lua.LVAsString(x)) })
	}
	if len(eps) == 0 {
		L.ArgError(1, "endpoints expected")
	}
	cl, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return luabind.FailErr(L, "etcdzone", err)
	}
	luabind.Push(L, storeType, etcdstore.New(cl, lua.LVAsString(t.RawGetString("prefix"))))
	return 1
}

func ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 60*time.Second)
}

func check(L *lua.LState) *etcdstore.Store { return luabind.Check[*etcdstore.Store](L, 1, storeType) }

var methods = map[string]lua.LGFunction{
	"push": func(L *lua.LState) int {
		s := check(L)
		c, cancel := ctx()
		defer cancel()
		res, err := s.PushFile(c, L.CheckString(2), L.CheckString(3))
		if err != nil {
			return luabind.FailErr(L, "", err)
		}
		L.Push(lua.LNumber(res.Serial))
		return 1
	},
	"push_text": func(L *lua.LState) int {
		s := check(L)
		c, cancel := ctx()
		defer cancel()
		res, err := s.Push(c, L.CheckString(2), []byte(L.CheckString(3)), "(push_text)")
		if err != nil {
			return luabind.FailErr(L, "", err)
		}
		L.Push(lua.LNumber(res.Serial))
		return 1
	},
	"get": func(L *lua.LState) int {
		s := check(L)
		c, cancel := ctx()
		defer cancel()
		var b bytes.Buffer
		if _, err := s.Get(c, L.CheckString(2), &b); err != nil {
			return luabind.FailErr(L, "", err)
		}
		L.Push(lua.LString(b.String()))
		return 1
	},
	"edit": func(L *lua.LState) int {
		s := check(L)
		c, cancel := ctx()
		defer cancel()
		res, err := s.Edit(c, L.CheckString(2), L.CheckString(3))
		if err != nil {
			return luabind.FailErr(L, "", err)
		}
		L.Push(lua.LNumber(res.Serial))
		return 1
	},
	"delete": func(L *lua.LState) int {
		s := check(L)
		c, cancel := ctx()
		defer cancel()
		if err := s.Delete(c, L.CheckString(2)); err != nil {
			return luabind.FailErr(L, "", err)
		}
		L.Push(lua.LTrue)
		return 1
	},
	"list": func(L *lua.LState) int {
		s := check(L)
		c, cancel := ctx()
		defer cancel()
		zs, err := s.Zones(c)
		if err != nil {
			return luabind.FailErr(L, "", err)
		}
		t := L.NewTable()
		for _, z := range zs {
			t.Append(lua.LString(z))
		}
		L.Push(t)
		return 1
	},
	"close": func(L *lua.LState) int {
		check(L).Client.Close()
		return 0
	},
}

package sift

// lmdb.go binds the store core (store.go) as the Lua module dns.lmdb:
// lmdb.open, env, txn, cursor and val_t objects (API.md §2.8).

import (
	"os"
	"strconv"

	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

// Registry names of the dns.lmdb userdata types.
const (
	envTypeName    = "lmdb.env"
	txnTypeName    = "lmdb.txn"
	cursorTypeName = "lmdb.cursor"
	valTypeName    = "lmdb.val_t"
)

// Version of the LMDB API this module mirrors (lmdb.version()).
const (
	versionMajor = 0
	versionMinor = 9
	versionPatch = 70
)

// lmdbLoader opens dns.lmdb.
func lmdbLoader(L *lua.LState) int {
	registerLMDB(L)
	mod := luabind.NewModule(L, "dns.lmdb", lmdbExports)
	ctor := L.NewTable()
	luabind.SetConstructor(L, ctor, valTypeName, func(L *lua.LState) int {
		return lmdbValT(L, 2)
	})
	mod.RawSetString("val_t", ctor)
	ops := L.CreateTable(0, len(opNames))
	for k, v := range opNames {
		ops.RawSetString(k, lua.LNumber(v))
	}
	mod.RawSetString("op", ops)
	flags := L.NewTable()
	flags.RawSetString("env", envFlags.table(L))
	flags.RawSetString("db", dbFlags.table(L))
	flags.RawSetString("put", putFlags.table(L))
	mod.RawSetString("flags", flags)
	mod.RawSetString("env_flags", envFlags.table(L))
	mod.RawSetString("dbi_flags", dbFlags.table(L))
	mod.RawSetString("put_flags", putFlags.table(L))
	L.Push(mod)
	return 1
}

var lmdbExports = map[string]lua.LGFunction{
	"open":    lmdbOpen,
	"version": lmdbVersion,
}

func registerLMDB(L *lua.LState) {
	luabind.RegisterType(L, luabind.TypeSpec{Name: envTypeName, Methods: envMethods,
		Meta: map[string]lua.LGFunction{"__tostring": envString}})
	luabind.RegisterType(L, luabind.TypeSpec{Name: txnTypeName, Methods: txnMethods,
		Meta: map[string]lua.LGFunction{"__tostring": txnString}})
	luabind.RegisterType(L, luabind.TypeSpec{Name: cursorTypeName, Methods: cursorMethods,
		Meta: map[string]lua.LGFunction{"__ipairs": cursorIpairs, "__pairs": cursorIpairs}})
	luabind.RegisterType(L, luabind.TypeSpec{Name: valTypeName, Meta: map[string]lua.LGFunction{
		"__index": valIndex, "__newindex": valNewIndex, "__tostring": valString, "__len": valLen,
		"__eq": valEq,
	}})
}

// lmdb.open(path [, flags [, mapsize [, mode [, maxdbs]]]]) -> env | nil, err
func lmdbOpen(L *lua.LState) int {
	path, ok := L.Get(1).(lua.LString)
	if !ok || path == "" {
		L.RaiseError("cannot open env without path")
	}
	flags := envFlags.check(L, 2)
	mapSize := luabind.OptInt(L, 3, 0)
	mode := checkMode(L, 4)
	env, err := OpenEnv(string(path), flags, mapSize, mode)
	if err != nil {
		return luabind.FailErr(L, "", err)
	}
	luabind.Push(L, envTypeName, env)
	return 1
}

// checkMode reads a file mode: an octal string ('0644'), a number whose
// decimal digits are octal (660, as written in LMDB scripts) or a plain
// number; default 0660.
func checkMode(L *lua.LState, n int) os.FileMode {
	switch v := L.Get(n).(type) {
	case *lua.LNilType:
		return 0o660
	case lua.LString:
		m, err := strconv.ParseUint(string(v), 8, 32)
		if err != nil {
			L.ArgError(n, "invalid mode "+strconv.Quote(string(v)))
		}
		return os.FileMode(m)
	case lua.LNumber:
		if m, err := strconv.ParseUint(strconv.Itoa(int(v)), 8, 32); err == nil {
			return os.FileMode(m)
		}
		return os.FileMode(int(v))
	}
	L.ArgError(n, "mode must be a number or a string")
	return 0
}

// lmdb.version() -> major, minor, patch
func lmdbVersion(L *lua.LState) int {
	L.Push(lua.LNumber(versionMajor))
	L.Push(lua.LNumber(versionMinor))
	L.Push(lua.LNumber(versionPatch))
	return 3
}

// ---- env ----

var envMethods = map[string]lua.LGFunction{
	"open":  envOpen,
	"txn":   envTxn,
	"path":  envPath,
	"copy":  envCopy,
	"stat":  envStat,
	"close": envClose,
}

func checkEnv(L *lua.LState) *Env {
	return luabind.Check[*Env](L, 1, envTypeName)
}

func envString(L *lua.LState) int {
	e := checkEnv(L)
	L.Push(lua.LString("lmdb.env: " + e.path))
	return 1
}

// env:txn([dbi [, flags [, parent]]]) -> txn | nil, err
func envTxn(L *lua.LState) int {
	e := checkEnv(L)
	dbi := luabind.OptInt(L, 2, 0)
	flags := envFlags.check(L, 3)
	if L.Get(4) != lua.LNil {
		return luabind.FailErr(L, "", ErrNested)
	}
	t, err := e.Begin(dbi, flags&EnvRdonly != 0)
	if err != nil {
		return luabind.FailErr(L, "", err)
	}
	pushTxn(L, t)
	return 1
}

// env:open([name [, flags [, txn]]]) -> txn, dbi | nil, err
func envOpen(L *lua.LState) int {
	e := checkEnv(L)
	name := L.OptString(2, "")
	flags := dbFlags.check(L, 3)
	var t *Txn
	var tud *lua.LUserData
	if ud, ok := L.Get(4).(*lua.LUserData); ok {
		t = luabind.Check[*Txn](L, 4, txnTypeName)
		if !t.Valid() {
			L.RaiseError("%v", ErrTxnEnded)
		}
		tud = ud
	} else {
		var err error
		if t, err = e.Begin(0, e.flags&EnvRdonly != 0); err != nil {
			return luabind.FailErr(L, "", err)
		}
	}
	_ = flags // bbolt buckets are created on first open, CREATE or not
	dbi, err := e.DBI(t, name, true)
	if err != nil {
		if tud == nil {
			t.Abort()
		}
		return luabind.FailErr(L, "", err)
	}
	t.useDB(dbi)
	if tud != nil {
		setTxnFields(tud, t)
		L.Push(tud)
	} else {
		pushTxn(L, t)
	}
	L.Push(lua.LNumber(dbi))
	return 2
}

func envPath(L *lua.LState) int {
	L.Push(lua.LString(checkEnv(L).Path()))
	return 1
}

// env:copy(dst) -> 0 | nil, err
func envCopy(L *lua.LState) int {
	e := checkEnv(L)
	if err := e.Copy(L.CheckString(2)); err != nil {
		return luabind.FailErr(L, "", err)
	}
	L.Push(lua.LNumber(0))
	return 1
}

// env:stat() -> {ms_psize, ms_depth, ...} | nil, err
func envStat(L *lua.LState) int {
	e := checkEnv(L)
	psize, depth, branch, leaf, overflow, entries, err := e.Stat()
	if err != nil {
		return luabind.FailErr(L, "", err)
	}
	t := L.CreateTable(0, 6)
	t.RawSetString("ms_psize", lua.LNumber(psize))
	t.RawSetString("ms_depth", lua.LNumber(depth))
	t.RawSetString("ms_branch_pages", lua.LNumber(branch))
	t.RawSetString("ms_leaf_pages", lua.LNumber(leaf))
	t.RawSetString("ms_overflow_pages", lua.LNumber(overflow))
	t.RawSetString("ms_entries", lua.LNumber(entries))
	L.Push(t)
	return 1
}

func envClose(L *lua.LState) int {
	if err := checkEnv(L).Close(); err != nil {
		return luabind.FailErr(L, "", err)
	}
	L.Push(lua.LTrue)
	return 1
}

// ---- txn ----

// A txn userdata has its own small metatable whose __index table holds
// the fields valid and dbi and falls back to the shared method table, so
// txn:get() costs two table lookups and no Go call.

var txnMethods = map[string]lua.LGFunction{
	"get":    txnGet,
	"put":    txnPut,
	"del":    txnDel,
	"cursor": txnCursor,
	"commit": txnCommit,
	"abort":  txnAbort,
	"reset":  txnReset,
	"renew":  txnRenew,
}

func pushTxn(L *lua.LState, t *Txn) {
	shared := L.GetTypeMetatable(txnTypeName).(*lua.LTable)
	fields := L.CreateTable(0, 2)
	fieldsMT := L.CreateTable(0, 1)
	fieldsMT.RawSetString("__index", shared.RawGetString("methods"))
	fields.Metatable = fieldsMT
	mt := L.CreateTable(0, 4)
	shared.ForEach(func(k, v lua.LValue) { mt.RawSet(k, v) })
	mt.RawSetString("__index", fields)
	ud := L.NewUserData()
	ud.Value = t
	ud.Metatable = mt
	setTxnFields(ud, t)
	t.OnEnd = func() { setTxnFields(ud, t) }
	L.Push(ud)
}

// setTxnFields refreshes txn.valid and txn.dbi after a state change.
func setTxnFields(ud *lua.LUserData, t *Txn) {
	mt, ok := ud.Metatable.(*lua.LTable)
	if !ok {
		return
	}
	if fields, ok := mt.RawGetString("__index").(*lua.LTable); ok {
		fields.RawSetString("valid", lua.LBool(t.Valid()))
		fields.RawSetString("dbi", lua.LNumber(t.DBI()))
	}
}

// checkTxn returns argument 1 as an open transaction; an ended one raises
// 'operation on aborted transaction'.
func checkTxn(L *lua.LState) *Txn {
	t := luabind.Check[*Txn](L, 1, txnTypeName)
	if !t.valid {
		L.RaiseError("operation on aborted transaction")
	}
	return t
}

func txnString(L *lua.LState) int {
	t := luabind.Check[*Txn](L, 1, txnTypeName)
	mode := "rw"
	if t.rdonly {
		mode = "rdonly"
	}
	L.Push(lua.LString("lmdb.txn (" + mode + ", dbi " + strconv.Itoa(t.dbi) + ")"))
	return 1
}

// txn:get(key [, val]) -> val, key | nil | nil, err
func txnGet(L *lua.LState) int {
	t := checkTxn(L)
	key := checkValBytes(L, 2)
	v, err := t.Get(key)
	if err != nil {
		return luabind.FailErr(L, "", err)
	}
	if v == nil {
		L.Push(lua.LNil)
		return 1
	}
	if out, ok := L.Get(3).(*lua.LUserData); ok {
		val, ok := out.Value.(*Val)
		if !ok {
			L.ArgError(3, valTypeName+" expected")
		}
		val.setStore(v, t)
		L.Push(out)
	} else {
		val := &Val{}
		val.setStore(v, t)
		luabind.Push(L, valTypeName, val)
	}
	L.Push(L.Get(2))
	return 2
}

// txn:put(key, val [, flags]) -> true | false (exists, nooverwrite) | nil, err
func txnPut(L *lua.LState) int {
	t := checkTxn(L)
	key := checkValBytes(L, 2)
	flags := putFlags.check(L, 4)
	if t.rdonly {
		return luabind.FailErr(L, "", ErrReadOnlyTxn)
	}
	var data []byte
	if flags&PutReserve != 0 {
		val, ok := luabind.Test[*Val](L, 3)
		if !ok {
			L.ArgError(3, valTypeName+" expected with 'reserve'")
		}
		if flags&PutNoOverwrite != 0 {
			if old, _ := t.Get(key); old != nil {
				L.Push(lua.LFalse)
				return 1
			}
		}
		val.reserve()
		data = val.b[:val.size]
	} else {
		data = ownedValBytes(L, 3)
	}
	ok, err := t.Put(key, data, flags)
	if err != nil {
		return luabind.FailErr(L, "", err)
	}
	return luabind.Bool(L, ok)
}

// txn:del(key) -> true | nil, err
func txnDel(L *lua.LState) int {
	t := checkTxn(L)
	if err := t.Del(checkValBytes(L, 2)); err != nil {
		return luabind.FailErr(L, "", err)
	}
	L.Push(lua.LTrue)
	return 1
}

// txn:commit() -> true | nil, err
func txnCommit(L *lua.LState) int {
	t := checkTxn(L)
	err := t.Commit()
	setTxnFields(L.CheckUserData(1), t)
	if err != nil {
		return luabind.FailErr(L, "", err)
	}
	L.Push(lua.LTrue)
	return 1
}

// txn:abort()
func txnAbort(L *lua.LState) int {
	t := checkTxn(L)
	t.Abort()
	setTxnFields(L.CheckUserData(1), t)
	L.Push(lua.LTrue)
	return 1
}

// txn:reset() ends a read transaction, keeping it for renew().
func txnReset(L *lua.LState) int {
	t := luabind.Check[*Txn](L, 1, txnTypeName)
	t.Abort()
	setTxnFields(L.CheckUserData(1), t)
	L.Push(lua.LTrue)
	return 1
}

// txn:renew() -> true | nil, err; raises on a valid transaction.
func txnRenew(L *lua.LState) int {
	t := luabind.Check[*Txn](L, 1, txnTypeName)
	if t.valid {
		L.RaiseError("cannot renew valid transaction")
	}
	err := t.Renew()
	setTxnFields(L.CheckUserData(1), t)
	if err != nil {
		return luabind.FailErr(L, "", err)
	}
	L.Push(lua.LTrue)
	return 1
}

// txn:cursor() -> cursor | nil, err
func txnCursor(L *lua.LState) int {
	t := checkTxn(L)
	c, err := t.NewCursor()
	if err != nil {
		return luabind.FailErr(L, "", err)
	}
	luabind.Push(L, cursorTypeName, &luaCursor{c: c, k: &Val{}, v: &Val{}})
	return 1
}

// ---- cursor ----

// luaCursor is the cursor userdata: the store cursor and the key/value
// objects it reuses for ipairs.
type luaCursor struct {
	c      *Cursor
	k, v   *Val
	kud    *lua.LUserData
	vud    *lua.LUserData
	closed bool
}

var cursorMethods = map[string]lua.LGFunction{
	"next":  cursorNext,
	"prev":  cursorPrev,
	"seek":  cursorSeek,
	"get":   cursorSeek,
	"close": cursorClose,
}

func checkCursor(L *lua.LState) *luaCursor {
	c := luabind.Check[*luaCursor](L, 1, cursorTypeName)
	if c.closed {
		L.RaiseError("cursor operation on dead cursor")
	}
	if !c.c.Alive() {
		L.RaiseError("operation on aborted transaction")
	}
	return c
}

// cursorOp runs op and pushes k, v (into the caller's val_t objects at
// argument 2 and 3 when given) or nil at the end.
func cursorOp(L *lua.LState, c *luaCursor, op int, key, val []byte) int {
	k, v, err := c.c.Get(op, key, val)
	if err != nil {
		return luabind.FailErr(L, "", err)
	}
	if k == nil {
		L.Push(lua.LNil)
		return 1
	}
	kout, vout := L.Get(2), L.Get(3) // read before pushing: pushes extend the stack
	pushCursorVal(L, c, kout, k, true)
	pushCursorVal(L, c, vout, v, false)
	return 2
}

// pushCursorVal fills out when it is a val_t (else the cursor's own
// object) with b and pushes it.
func pushCursorVal(L *lua.LState, c *luaCursor, out lua.LValue, b []byte, isKey bool) {
	if ud, ok := out.(*lua.LUserData); ok {
		if val, ok := ud.Value.(*Val); ok {
			val.setStore(b, c.c.txn)
			L.Push(ud)
			return
		}
	}
	if isKey {
		c.k.setStore(b, c.c.txn)
		if c.kud == nil {
			c.kud = luabind.NewUserData(L, valTypeName, c.k)
		}
		L.Push(c.kud)
		return
	}
	c.v.setStore(b, c.c.txn)
	if c.vud == nil {
		c.vud = luabind.NewUserData(L, valTypeName, c.v)
	}
	L.Push(c.vud)
}

// optOp reads a cursor op argument (number or name), default def.
func optOp(L *lua.LState, n int, def int) int {
	switch v := L.Get(n).(type) {
	case lua.LNumber:
		return int(v)
	case lua.LString:
		if op, ok := opNames[string(v)]; ok {
			return op
		}
		L.ArgError(n, "unknown cursor op "+strconv.Quote(string(v)))
	}
	return def
}

// cur:next([k [, v [, op]]]): no k → first entry, else op (default NEXT).
func cursorNext(L *lua.LState) int {
	c := checkCursor(L)
	if L.Get(2) == lua.LNil {
		return cursorOp(L, c, OpFirst, nil, nil)
	}
	op := optOp(L, 4, OpNext)
	return cursorOp(L, c, op, optValBytes(L, 2), optValBytes(L, 3))
}

// cur:prev([k [, v]])
func cursorPrev(L *lua.LState) int {
	c := checkCursor(L)
	return cursorOp(L, c, optOp(L, 4, OpPrev), nil, nil)
}

// cur:seek(k [, v [, op]]): default SET_RANGE (first key >= k).
func cursorSeek(L *lua.LState) int {
	c := checkCursor(L)
	op := optOp(L, 4, OpSetRange)
	key := optValBytes(L, 2)
	if key == nil && (op == OpSet || op == OpSetKey || op == OpSetRange || op == OpGetBoth || op == OpGetBothRange) {
		L.ArgError(2, "key expected")
	}
	// Copy the key: the output key object may be the input one.
	key = append([]byte(nil), key...)
	return cursorOp(L, c, op, key, optValBytes(L, 3))
}

func cursorClose(L *lua.LState) int {
	c := luabind.Check[*luaCursor](L, 1, cursorTypeName)
	c.closed = true
	return 0
}

// ipairs(cur) / pairs(cur): (key, value) objects from the first entry.
func cursorIpairs(L *lua.LState) int {
	checkCursor(L)
	L.Push(L.NewFunction(luabind.Guard("lmdb.cursor.iter", cursorIter)))
	L.Push(L.Get(1))
	L.Push(lua.LNil)
	return 3
}

func cursorIter(L *lua.LState) int {
	c := checkCursor(L)
	op := OpNext
	if L.Get(2) == lua.LNil {
		op = OpFirst
	}
	k, v, err := c.c.Get(op, nil, nil)
	if err != nil {
		L.RaiseError("%v", err)
	}
	if k == nil {
		L.Push(lua.LNil)
		return 1
	}
	pushCursorVal(L, c, lua.LNil, k, true)
	pushCursorVal(L, c, lua.LNil, v, false)
	return 2
}

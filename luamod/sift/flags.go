package sift

import (
	"fmt"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// flagTable is one named set of LMDB flags (keys upper case).
type flagTable struct {
	name string
	vals map[string]uint32
}

var (
	envFlags = flagTable{"env", map[string]uint32{
		"FIXEDMAP": EnvFixedMap, "NOSUBDIR": EnvNoSubdir, "NOSYNC": EnvNoSync, "RDONLY": EnvRdonly,
		"NOMETASYNC": EnvNoMetaSync, "WRITEMAP": EnvWriteMap, "MAPASYNC": EnvMapAsync, "NOTLS": EnvNoTLS,
		"NOLOCK": EnvNoLock, "NORDAHEAD": EnvNoReadAhead, "NOMEMINIT": EnvNoMemInit,
	}}
	dbFlags = flagTable{"db", map[string]uint32{
		"REVERSEKEY": DBReverseKey, "DUPSORT": DBDupSort, "INTEGERKEY": DBIntegerKey, "DUPFIXED": DBDupFixed,
		"INTEGERDUP": DBIntegerDup, "REVERSEDUP": DBReverseDup, "CREATE": DBCreate,
	}}
	putFlags = flagTable{"put", map[string]uint32{
		"NOOVERWRITE": PutNoOverwrite, "NODUPDATA": PutNoDupData, "CURRENT": PutCurrent, "RESERVE": PutReserve,
		"APPEND": PutAppend, "APPENDDUP": PutAppendDup, "MULTIPLE": PutMultiple,
	}}
	opNames = map[string]int{
		"FIRST": OpFirst, "FIRST_DUP": OpFirstDup, "GET_BOTH": OpGetBoth, "GET_BOTH_RANGE": OpGetBothRange,
		"GET_CURRENT": OpGetCurrent, "GET_MULTIPLE": OpGetMultiple, "LAST": OpLast, "LAST_DUP": OpLastDup,
		"NEXT": OpNext, "NEXT_DUP": OpNextDup, "NEXT_MULTIPLE": OpNextMultiple, "NEXT_NODUP": OpNextNoDup,
		"PREV": OpPrev, "PREV_DUP": OpPrevDup, "PREV_NODUP": OpPrevNoDup, "SET": OpSet, "SET_KEY": OpSetKey,
		"SET_RANGE": OpSetRange,
	}
)

// parse ORs the comma-separated, case-insensitive names of s; an unknown
// name is an error. Transaction flags use the environment table.
func (ft flagTable) parse(s string) (uint32, error) {
	var v uint32
	for _, part := range strings.Split(s, ",") {
		part = strings.ToUpper(strings.TrimSpace(part))
		if part == "" {
			continue
		}
		f, ok := ft.vals[part]
		if !ok {
			return 0, fmt.Errorf("unknown %s flag %q", ft.name, part)
		}
		v |= f
	}
	return v, nil
}

// check reads flags argument n: nil (0), a number or a flag string;
// an unknown name raises.
func (ft flagTable) check(L *lua.LState, n int) uint32 {
	switch v := L.Get(n).(type) {
	case *lua.LNilType:
		return 0
	case lua.LNumber:
		return uint32(int64(v))
	case lua.LString:
		f, err := ft.parse(string(v))
		if err != nil {
			L.RaiseError("%v", err)
		}
		return f
	}
	L.ArgError(n, "flags must be a number or a string")
	return 0
}

// table returns a Lua table of the flag names (upper and lower case) → value.
func (ft flagTable) table(L *lua.LState) *lua.LTable {
	t := L.CreateTable(0, 2*len(ft.vals))
	for k, v := range ft.vals {
		t.RawSetString(k, lua.LNumber(v))
		t.RawSetString(strings.ToLower(k), lua.LNumber(v))
	}
	return t
}

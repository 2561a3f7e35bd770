package compat

import (
	"math"
	"math/bits"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

// ToBit reduces a Lua number to a signed 32-bit integer exactly as LuaJIT's
// BitOp does: add 2^52+2^51 and keep the low 32 bits of the mantissa, which
// rounds non-integers to nearest-even and reduces modulo 2^32.
func ToBit(f float64) int32 {
	return int32(uint32(math.Float64bits(f + 6755399441055744.0)))
}

// ToHex formats x as n hex digits (default 8; negative n: uppercase), as bit.tohex.
func ToHex(x int32, n int32) string {
	const lower, upper = "0123456789abcdef", "0123456789ABCDEF"
	digits := lower
	if n < 0 {
		n = -n
		digits = upper
	}
	if n > 8 || n < 0 { // n < 0 again only for math.MinInt32
		n = 8
	}
	u := uint32(x)
	var b strings.Builder
	for i := n - 1; i >= 0; i-- {
		b.WriteByte(digits[(u>>(4*uint(i)))&15])
	}
	return b.String()
}

var bitExports = map[string]lua.LGFunction{
	"tobit": func(L *lua.LState) int { return pushBit(L, checkBit(L, 1)) },
	"tohex": func(L *lua.LState) int {
		n := int32(8)
		if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
			n = checkBit(L, 2)
		}
		L.Push(lua.LString(ToHex(checkBit(L, 1), n)))
		return 1
	},
	"bnot": func(L *lua.LState) int { return pushBit(L, ^checkBit(L, 1)) },
	"band": func(L *lua.LState) int { return bitFold(L, func(a, b int32) int32 { return a & b }) },
	"bor":  func(L *lua.LState) int { return bitFold(L, func(a, b int32) int32 { return a | b }) },
	"bxor": func(L *lua.LState) int { return bitFold(L, func(a, b int32) int32 { return a ^ b }) },
	"lshift": func(L *lua.LState) int {
		return pushBit(L, int32(uint32(checkBit(L, 1))<<(uint32(checkBit(L, 2))&31)))
	},
	"rshift": func(L *lua.LState) int {
		return pushBit(L, int32(uint32(checkBit(L, 1))>>(uint32(checkBit(L, 2))&31)))
	},
	"arshift": func(L *lua.LState) int {
		return pushBit(L, checkBit(L, 1)>>(uint32(checkBit(L, 2))&31))
	},
	"rol": func(L *lua.LState) int {
		return pushBit(L, int32(bits.RotateLeft32(uint32(checkBit(L, 1)), int(uint32(checkBit(L, 2))&31))))
	},
	"ror": func(L *lua.LState) int {
		return pushBit(L, int32(bits.RotateLeft32(uint32(checkBit(L, 1)), -int(uint32(checkBit(L, 2))&31))))
	},
	"bswap": func(L *lua.LState) int {
		return pushBit(L, int32(bits.ReverseBytes32(uint32(checkBit(L, 1)))))
	},
}

// checkBit returns argument n (a number or numeric string) reduced by ToBit.
func checkBit(L *lua.LState, n int) int32 {
	return ToBit(float64(L.CheckNumber(n)))
}

func pushBit(L *lua.LState, x int32) int {
	L.Push(lua.LNumber(x))
	return 1
}

// bitFold applies op over all arguments (at least one), as band/bor/bxor.
func bitFold(L *lua.LState, op func(a, b int32) int32) int {
	x := checkBit(L, 1)
	for i := 2; i <= L.GetTop(); i++ {
		x = op(x, checkBit(L, i))
	}
	return pushBit(L, x)
}

// bitLoader opens the bit module (LuaJIT BitOp).
func bitLoader(L *lua.LState) int {
	L.Push(luabind.NewModule(L, "bit", bitExports))
	return 1
}

package host

import (
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// osDate is os.date as LuaJIT runs it on glibc: "!" selects UTC, "*t"
// returns the broken-down table, anything else goes through strftime in
// the C locale (default format "%c").
func osDate(L *lua.LState) int {
	format := L.OptString(1, "%c")
	t := time.Now()
	if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
		t = time.Unix(int64(float64(L.CheckNumber(2))), 0)
	}
	utc := strings.HasPrefix(format, "!")
	if utc {
		format = format[1:]
		t = t.UTC()
	} else {
		t = t.Local()
	}
	if strings.HasPrefix(format, "*t") {
		tbl := L.CreateTable(0, 9)
		tbl.RawSetString("year", lua.LNumber(t.Year()))
		tbl.RawSetString("month", lua.LNumber(t.Month()))
		tbl.RawSetString("day", lua.LNumber(t.Day()))
		tbl.RawSetString("hour", lua.LNumber(t.Hour()))
		tbl.RawSetString("min", lua.LNumber(t.Minute()))
		tbl.RawSetString("sec", lua.LNumber(t.Second()))
		tbl.RawSetString("wday", lua.LNumber(t.Weekday()+1))
		tbl.RawSetString("yday", lua.LNumber(t.YearDay()))
		tbl.RawSetString("isdst", lua.LBool(!utc && t.IsDST()))
		L.Push(tbl)
		return 1
	}
	L.Push(lua.LString(Strftime(format, t, utc)))
	return 1
}

// Strftime formats t as glibc's strftime does in the C locale, with the
// GNU extensions (flags _ - 0 ^ #, a field width, the E and O modifiers,
// %k %l %P %s, % at the end) and glibc's way of copying an unknown
// conversion literally. utc makes %Z print "GMT", as gmtime's tm_zone.
func Strftime(format string, t time.Time, utc bool) string {
	var w strftimeWriter
	w.format(format, t, utc, false)
	return w.b.String()
}

type strftimeWriter struct{ b strings.Builder }

var (
	weekdayNames = [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	monthNames   = [12]string{"January", "February", "March", "April", "May", "June", "July",
		"August", "September", "October", "November", "December"}
)

// field is the state of one conversion: its flags, width and case.
type field struct {
	pad          byte // '_', '-', '0' or 0
	width        int  // -1: none
	upper, lower bool
	changeCase   bool
}

// add writes s right-aligned in the field width (zeros with the 0 flag,
// else spaces), in the field's case.
func (w *strftimeWriter) add(f *field, s string) {
	for n := len(s); n < f.width; n++ {
		if f.pad == '0' {
			w.b.WriteByte('0')
		} else {
			w.b.WriteByte(' ')
		}
	}
	switch {
	case f.lower:
		s = strings.ToLower(s)
	case f.upper:
		s = strings.ToUpper(s)
	}
	w.b.WriteString(s)
}

// number writes v with at least digits digits (or the field width),
// padded as glibc's do_number: zeros by default, spaces with _, none with -.
func (w *strftimeWriter) number(f *field, digits int, v int64, spacePad bool) {
	if spacePad && f.pad != '0' && f.pad != '-' {
		f.pad = '_'
	}
	if f.width > digits {
		digits = f.width
	}
	neg := v < 0
	u := uint64(v)
	if neg {
		u = -u
	}
	var buf [24]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	w.padded(f, digits, neg, buf[i:])
}

// padded is glibc's do_number_sign_and_padding for the digits in num.
func (w *strftimeWriter) padded(f *field, digits int, neg bool, num []byte) {
	n := len(num)
	if neg {
		n++
	}
	if f.pad != '-' {
		if padding := digits - n; padding > 0 {
			if f.pad == '_' {
				w.b.WriteString(strings.Repeat(" ", padding))
				if f.width > padding {
					f.width -= padding
				} else {
					f.width = 0
				}
			} else {
				if neg {
					w.b.WriteByte('-')
					neg = false
				}
				w.b.WriteString(strings.Repeat("0", padding))
				f.width = 0
			}
		}
	}
	s := string(num)
	if neg {
		s = "-" + s
	}
	w.add(f, s)
}

func (w *strftimeWriter) format(format string, t time.Time, utc, upcase bool) {
	year, yday, wday := int64(t.Year()), t.YearDay()-1, int(t.Weekday())
	hour12 := t.Hour() % 12
	if hour12 == 0 {
		hour12 = 12
	}
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			w.b.WriteByte(c)
			continue
		}
		start := i
		f := field{width: -1, upper: upcase}
	flags:
		for i+1 < len(format) {
			switch format[i+1] {
			case '_', '-', '0':
				f.pad = format[i+1]
			case '^':
				f.upper = true
			case '#':
				f.changeCase = true
			default:
				break flags
			}
			i++
		}
		i++
		if i < len(format) && format[i] >= '0' && format[i] <= '9' {
			f.width = 0
			for i < len(format) && format[i] >= '0' && format[i] <= '9' {
				if f.width < 1<<20 {
					f.width = f.width*10 + int(format[i]-'0')
				}
				i++
			}
		}
		var modifier byte
		if i < len(format) && (format[i] == 'E' || format[i] == 'O') {
			modifier = format[i]
			i++
		}
		var conv byte
		if i < len(format) {
			conv = format[i]
		}
		upperCase := func() {
			if f.changeCase {
				f.upper, f.lower = true, false
			}
		}
		lowerCase := func() {
			if f.changeCase {
				f.upper, f.lower = false, true
			}
		}
		sub := func(layout string) {
			var inner strftimeWriter
			inner.format(layout, t, utc, f.upper)
			s := inner.b.String()
			if f.upper {
				s = strings.ToUpper(s)
			}
			f.upper, f.lower = false, false
			w.add(&f, s)
		}
		bad := false
		switch conv {
		case '%':
			w.add(&f, "%")
		case 'a', 'A':
			if modifier != 0 {
				bad = true
				break
			}
			upperCase()
			if conv == 'a' {
				w.add(&f, weekdayNames[wday][:3])
			} else {
				w.add(&f, weekdayNames[wday])
			}
		case 'b', 'h', 'B':
			if modifier == 'E' {
				bad = true
				break
			}
			upperCase()
			if conv == 'B' {
				w.add(&f, monthNames[t.Month()-1])
			} else {
				w.add(&f, monthNames[t.Month()-1][:3])
			}
		case 'c':
			if modifier == 'O' {
				bad = true
				break
			}
			sub("%a %b %e %H:%M:%S %Y")
		case 'C':
			c := year / 100
			if year%100 < 0 {
				c--
			}
			w.number(&f, 1, c, false)
		case 'x':
			if modifier == 'O' {
				bad = true
				break
			}
			sub("%m/%d/%y")
		case 'D':
			if modifier != 0 {
				bad = true
				break
			}
			sub("%m/%d/%y")
		case 'F':
			if modifier != 0 {
				bad = true
				break
			}
			sub("%Y-%m-%d")
		case 'X':
			if modifier == 'O' {
				bad = true
				break
			}
			sub("%H:%M:%S")
		case 'T':
			sub("%H:%M:%S")
		case 'R':
			sub("%H:%M")
		case 'r':
			sub("%I:%M:%S %p")
		case 'd', 'e', 'H', 'I', 'k', 'l', 'j', 'M', 'm', 'S', 'U', 'W', 'w':
			if modifier == 'E' {
				bad = true
				break
			}
			switch conv {
			case 'd':
				w.number(&f, 2, int64(t.Day()), false)
			case 'e':
				w.number(&f, 2, int64(t.Day()), true)
			case 'H':
				w.number(&f, 2, int64(t.Hour()), false)
			case 'I':
				w.number(&f, 2, int64(hour12), false)
			case 'k':
				w.number(&f, 2, int64(t.Hour()), true)
			case 'l':
				w.number(&f, 2, int64(hour12), true)
			case 'j':
				w.number(&f, 3, int64(yday+1), false)
			case 'M':
				w.number(&f, 2, int64(t.Minute()), false)
			case 'm':
				w.number(&f, 2, int64(t.Month()), false)
			case 'S':
				w.number(&f, 2, int64(t.Second()), false)
			case 'U':
				w.number(&f, 2, int64((yday-wday+7)/7), false)
			case 'W':
				w.number(&f, 2, int64((yday-(wday-1+7)%7+7)/7), false)
			case 'w':
				w.number(&f, 1, int64(wday), false)
			}
		case 'n':
			w.add(&f, "\n")
		case 't':
			w.add(&f, "\t")
		case 'P', 'p':
			if conv == 'P' {
				f.lower = true
			}
			lowerCase()
			if t.Hour() < 12 {
				w.add(&f, "AM")
			} else {
				w.add(&f, "PM")
			}
		case 's':
			// mktime of the broken-down time: the time itself, or for
			// "!" the UTC fields read as local standard time (tm_isdst 0)
			secs := t.Unix()
			if utc {
				secs -= int64(standardOffset(t))
			}
			neg := secs < 0
			u := uint64(secs)
			if neg {
				u = -u
			}
			w.padded(&f, 1, neg, []byte(formatUint(u)))
		case 'u':
			w.number(&f, 1, int64((wday-1+7)%7+1), false)
		case 'V', 'g', 'G':
			if modifier == 'E' {
				bad = true
				break
			}
			y, week := t.ISOWeek()
			switch conv {
			case 'g':
				w.number(&f, 2, int64((y%100+100)%100), false)
			case 'G':
				w.number(&f, 1, int64(y), false)
			default:
				w.number(&f, 2, int64(week), false)
			}
		case 'Y':
			if modifier == 'O' {
				bad = true
				break
			}
			w.number(&f, 1, year, false)
		case 'y':
			w.number(&f, 2, (year%100+100)%100, false)
		case 'Z':
			lowerCase()
			name := "GMT"
			if !utc {
				name, _ = t.Zone()
			}
			w.add(&f, name)
		case 'z':
			_, off := t.Zone()
			if utc {
				off = 0
			}
			sign := "+"
			if off < 0 {
				sign, off = "-", -off
			}
			w.add(&f, sign)
			off /= 60
			w.number(&f, 4, int64(off/60*100+off%60), false)
		default:
			bad = true
			if conv == 0 {
				i-- // % at the end of the format
			}
		}
		if bad {
			w.add(&f, format[start:i+1])
		}
	}
}

func formatUint(u uint64) string {
	var buf [24]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	return string(buf[i:])
}

// standardOffset is the local zone's offset from UTC without daylight
// saving time around the date of t (its winter or its summer offset).
func standardOffset(t time.Time) int {
	local := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.Local)
	_, off := local.Zone()
	if !local.IsDST() {
		return off
	}
	for _, m := range []time.Month{time.January, time.July} {
		if other := time.Date(t.Year(), m, 1, 12, 0, 0, 0, time.Local); !other.IsDST() {
			_, off = other.Zone()
			return off
		}
	}
	return off - 3600
}

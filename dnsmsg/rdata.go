package dnsmsg

import "encoding/binary"

// SOAFields splits SOA RDATA (RFC 1035 §3.3.13) into its two names
// (uncompressed wire, aliasing rd) and its five 32-bit fields: SERIAL,
// REFRESH, RETRY, EXPIRE, MINIMUM. ok is false when rd is too short or a
// name is malformed.
func SOAFields(rd []byte) (mname, rname []byte, nums [5]uint32, ok bool) {
	r := &rdReader{b: rd}
	mname = r.name()
	rname = r.name()
	for i := range nums {
		nums[i] = r.u32()
	}
	return mname, rname, nums, !r.bad
}

// MXRData returns the RDATA of an MX record (RFC 1035 §3.3.9).
func MXRData(pref uint16, exchange []byte) []byte {
	return append(binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(exchange)), pref), exchange...)
}

// SRVRData returns the RDATA of an SRV record (RFC 2782): the three
// 16-bit fields in order, then the target.
func SRVRData(priority, weight, port uint16, target []byte) []byte {
	b := make([]byte, 6, 6+len(target))
	binary.BigEndian.PutUint16(b, priority)
	binary.BigEndian.PutUint16(b[2:], weight)
	binary.BigEndian.PutUint16(b[4:], port)
	return append(b, target...)
}

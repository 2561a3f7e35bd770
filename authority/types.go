package authority

// RR types and numbers the engine needs (RFC 1035, 3596, 4034, 5155, 6672).
const (
	typeA          uint16 = 1
	typeNS         uint16 = 2
	typeCNAME      uint16 = 5
	typeSOA        uint16 = 6
	typePTR        uint16 = 12
	typeMX         uint16 = 15
	typeTXT        uint16 = 16
	typeAAAA       uint16 = 28
	typeSRV        uint16 = 33
	typeDNAME      uint16 = 39
	typeOPT        uint16 = 41
	typeDS         uint16 = 43
	typeRRSIG      uint16 = 46
	typeNSEC       uint16 = 47
	typeNSEC3      uint16 = 50
	typeNSEC3PARAM uint16 = 51
	typeIXFR       uint16 = 251
	typeAXFR       uint16 = 252
	typeANY        uint16 = 255
	classIN        uint16 = 1

	rcodeNoError  = 0
	rcodeFormErr  = 1
	rcodeServFail = 2
	rcodeNXDomain = 3
	rcodeNotImp   = 4
	rcodeRefused  = 5
	rcodeYXDomain = 6
	rcodeNotAuth  = 9
)

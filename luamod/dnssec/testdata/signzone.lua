-- signzone.lua: sign a small zone with NSEC using dns.dnssec, print it in
-- RFC 3597 generic syntax. Used by lua_test.go, whose output is checked
-- with ldns-verify-zone and dnssec-verify.
--
-- Globals set by the caller:
--   records    array of {owner = <wire>, type = n, ttl = n, rdata = <wire>}
--   apex       zone apex (wire)
--   ksk_key, zsk_key  private keys (BIND Private-key-format text or PEM)
--   algorithm  the keys' algorithm (needed for PEM)
--   inception  inception time; signatures last 7 days
local dns = require('dns')
local dnssec = require('dns.dnssec')

local function loadkey(text, flags)
	local k = dnssec.key()
	if algorithm then assert(k:algo(algorithm)) end
	assert(k:privkey(text))
	k:flags(flags)
	k:name(apex)
	return k
end
local ksk, zsk = loadkey(ksk_key, 257), loadkey(zsk_key, 256)

-- Group records into RR sets, remembering the types of each owner.
local sets, names, types = {}, {}, {}
local function add(owner, rtype, ttl, rdata)
	local key = dns.dname(owner):lower():towire()
	local id = key .. '/' .. rtype
	if not sets[id] then
		sets[id] = dns.rrset(owner, rtype)
		table.insert(sets, sets[id])
	end
	sets[id]:add(rdata, ttl)
	if not types[key] then
		types[key] = {}
		table.insert(names, dns.dname(key))
	end
	table.insert(types[key], rtype)
end
for _, r in ipairs(records) do
	add(r.owner, r.type, r.ttl, r.rdata)
end
add(apex, dns.type.DNSKEY, 3600, ksk:rdata())
add(apex, dns.type.DNSKEY, 3600, zsk:rdata())

-- NSEC chain in canonical order.
table.sort(names, function(a, b) return a < b end)
local nsecs = {}
for i, name in ipairs(names) do
	local next = names[i % #names + 1]
	table.insert(nsecs, dnssec.denial(name, 0, {ttl = 3600, next = next, types = types[name:towire()]}))
end
for _, rr in ipairs(nsecs) do table.insert(sets, rr) end

-- Sign: the ZSK signs everything, the KSK also signs the DNSKEY set.
local zsigner, ksigner = assert(dnssec.signer(zsk)), assert(dnssec.signer(ksk))
local out = {}
local function emit(rr)
	for i = 0, rr:count() - 1 do
		local rd = rr:rdata(i)
		table.insert(out, string.format('%s %d IN TYPE%d \\# %d %s', rr:owner():tostring(), rr:ttl(), rr:type(), #rd,
			#rd > 0 and (rd:gsub('.', function(c) return string.format('%02X', c:byte()) end)) or ''))
	end
end
local validity = 7 * 86400
for _, rr in ipairs(sets) do
	emit(rr)
	local sig = assert(zsigner:sign(rr, validity, inception, apex))
	assert(zsigner:verify(rr, sig))
	emit(sig)
	if rr:type() == dns.type.DNSKEY then
		emit(assert(ksigner:sign(rr, validity, inception, apex)))
	end
end
return table.concat(out, '\n') .. '\n'

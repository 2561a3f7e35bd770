-- verifyzone.lua: verify every RRSIG of a signed zone file with the zone's
-- own DNSKEYs, using dns.rrparser and dns.dnssec. Used by lua_test.go on
-- zones signed by dnssec-signzone and ldns-signzone.
--
-- Global set by the caller: zonefile (path). Returns the number of RRSIGs
-- that verified and a table of failure messages.
local dns = require('dns')
local dnssec = require('dns.dnssec')
local rrparser = require('dns.rrparser')

local records = assert(rrparser.file(zonefile))
local sets, sigs, signers = {}, {}, {}
for _, r in ipairs(records) do
	local owner = dns.dname(r.owner)
	if r.type == dns.type.RRSIG then
		table.insert(sigs, r)
	else
		local id = owner:lower():towire() .. '/' .. r.type
		if not sets[id] then
			sets[id] = dns.rrset(owner, r.type, r.class)
		end
		sets[id]:add(r.rdata, r.ttl)
		if r.type == dns.type.DNSKEY then
			local key = dnssec.key()
			assert(key:rdata(r.rdata))
			signers[key:tag()] = signers[key:tag()] or {}
			table.insert(signers[key:tag()], assert(dnssec.signer(key)))
		end
	end
end

local ok, failures = 0, {}
for _, r in ipairs(sigs) do
	local owner = dns.dname(r.owner)
	local covered = r.rdata:byte(1) * 256 + r.rdata:byte(2)
	local tag = r.rdata:byte(17) * 256 + r.rdata:byte(18)
	local rr = sets[owner:lower():towire() .. '/' .. covered]
	local rrsig = dns.rrset(owner, dns.type.RRSIG, r.class)
	rrsig:add(r.rdata, r.ttl)
	local good, err = false, 'no key with tag ' .. tag
	for _, signer in ipairs(signers[tag] or {}) do
		good, err = signer:verify(rr, rrsig)
		if good then break end
	end
	if good then
		ok = ok + 1
	else
		table.insert(failures, string.format('%s %s: %s', owner, dns.tostring.type[covered], tostring(err)))
	end
end
return ok, failures

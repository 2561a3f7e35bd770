-- lua2 backend (API 2) with DNSSEC keys: pdns_server (launch=lua2) and
-- ljdns serve sign its answers on line (dns_dnssec, dns_get_domain_keys:
-- a KSK and a ZSK, ECDSA P-256, in BIND's Private-key-format v1.3), with
-- NSEC denial from dns_get_before_and_after_names_absolute, CDS and CDNSKEY
-- from the PUBLISH-CDS/PUBLISH-CDNSKEY metadata. The keys are
-- examples: never use them for a real zone.
dns_dnssec = true

local zone = newDN("signed.example.")
local ttl = 3600
-- name -> { {type, content, auth}, ... }; auth false: a delegation's NS and glue
local records = {
  ["signed.example."] = {
    { "SOA", "ns1.signed.example. hostmaster.signed.example. 2026120501 7200 3600 1209600 300" },
    { "NS", "ns1.signed.example." }, { "MX", "10 mail.signed.example." }, { "TXT", "\"signed on line\"" },
  },
  ["ns1.signed.example."] = { { "A", "192.0.2.53" }, { "AAAA", "2001:db8::53" } },
  ["www.signed.example."] = { { "A", "192.0.2.1" }, { "A", "192.0.2.2" }, { "AAAA", "2001:db8::1" } },
  ["mail.signed.example."] = { { "A", "192.0.2.25" } },
  ["alias.signed.example."] = { { "CNAME", "www.signed.example." } },
  ["*.wild.signed.example."] = { { "TXT", "\"wildcard\"" }, { "A", "192.0.2.99" } },
  ["a.b.ent.signed.example."] = { { "TXT", "\"deep\"" } },
  ["insecure.signed.example."] = { { "NS", "ns.insecure.signed.example.", false } },
  ["ns.insecure.signed.example."] = { { "A", "192.0.2.54", false } },
  ["secure.signed.example."] = { { "NS", "ns.secure.signed.example.", false },
    { "DS", "12345 13 2 0B0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8" } },
  ["ns.secure.signed.example."] = { { "A", "192.0.2.55", false } },
}

local keys = {
  { id = 1, flags = 257, active = true, published = true, content = [[
Private-key-format: v1.3
Algorithm: 13 (ECDSAP256SHA256)
PrivateKey: vl7JZoSYnBFGkVUxr4EaIppdKi1ZGDqAaZ05x/fKNOY=
Created: 20261205080652
Publish: 20261205080652
Activate: 20261205080652
]] },
  { id = 2, flags = 256, active = true, published = true, content = [[
Private-key-format: v1.3
Algorithm: 13 (ECDSAP256SHA256)
PrivateKey: kkEXAvf7cgmAKLBaEszLTtQeHwWJBvWDyJfvtnNUttg=
Created: 20261205080652
Publish: 20261205080652
Activate: 20261205080652
]] },
}

-- the NSEC chain: every name with authoritative data (not glue, not empty
-- non-terminals), in canonical order
local chain = {}
for name, rs in pairs(records) do
  local auth = false
  for _, r in ipairs(rs) do
    if r[3] ~= false or r[1] == "NS" then auth = true end
  end
  if auth then chain[#chain + 1] = newDN(name) end
end
table.sort(chain, function(a, b) return a:canonCompare(b) end)

function dns_lookup(qtype, qname, domain_id, ctx)
  local name, want = qname:toString(), qtype:getName()
  local out = {}
  for _, r in ipairs(records[name] or {}) do
    if want == "ANY" or want == r[1] then
      out[#out + 1] = { name = name, type = r[1], content = r[2], ttl = ttl, domain_id = 1, auth = r[3] ~= false }
    end
  end
  return out
end

function dns_list(target, domain_id)
  if target ~= zone then return false end
  local out = {}
  for name in pairs(records) do
    for _, r in ipairs(dns_lookup(newQType("ANY"), newDN(name), 1, {})) do out[#out + 1] = r end
  end
  return out
end

function dns_get_all_domains()
  return { [newDN("signed.example.")] = { id = 1, kind = "NATIVE", serial = 2026120501 } }
end

function dns_get_domaininfo(dom)
  if dom ~= zone then return false end
  return { id = 1, kind = "NATIVE", serial = 2026120501 }
end

-- no NSEC3PARAM, no PRESIGNED: NSEC, signed on line; CDS (SHA-1 and
-- SHA-256) and CDNSKEY of the KSK published
local meta = { ["PUBLISH-CDS"] = { "1, 2" }, ["PUBLISH-CDNSKEY"] = { "1" } }

function dns_get_domain_metadata(dom, kind)
  if dom ~= zone then return false end
  return meta[kind] or false
end

function dns_get_all_domain_metadata(dom)
  if dom ~= zone then return false end
  return meta
end

function dns_get_domain_keys(dom)
  if dom ~= zone then return false end
  return keys
end

-- qname is relative to the zone (the apex is "."); before is the greatest
-- name of the chain at or before qname, after the first one after it, both
-- relative and wrapping around
function dns_get_before_and_after_names_absolute(id, qname)
  local abs = zone
  if qname:countLabels() > 0 then abs = newDN(qname:toStringNoDot() .. "." .. zone:toString()) end
  local before, after = chain[#chain], chain[1]
  for _, n in ipairs(chain) do
    if abs:canonCompare(n) then after = n break end
    before = n
  end
  return { unhashed = qname, before = before:makeRelative(zone), after = after:makeRelative(zone) }
end

-- perf.lua with dns_get_all_domains: the zone list comes from the script
-- (pdns's zone cache), so no SOA lookups find the zone per query.
local zone = newDN("perf.example.")
local apex = {
  { name = "perf.example.", type = "SOA", content = "ns1.perf.example. hostmaster.perf.example. 1 7200 3600 1209600 300", ttl = 3600, domain_id = 1, auth = true },
  { name = "perf.example.", type = "NS", content = "ns1.perf.example.", ttl = 3600, domain_id = 1, auth = true },
}

function dns_lookup(qtype, qname, domain_id, ctx)
  if not qname:isPartOf(zone) then return {} end
  local name, t = tostring(qname), qtype:getName()
  if name == "perf.example." then
    local out = {}
    for _, r in ipairs(apex) do if t == "ANY" or t == r.type then out[#out + 1] = r end end
    return out
  end
  local n = name:match("^n(%d+)%.perf%.example%.$")
  if n and tonumber(n) < 1000 and (t == "ANY" or t == "A") then
    return { { name = name, type = "A", content = "192.0.2." .. (tonumber(n) % 250 + 1), ttl = 3600, domain_id = 1, auth = true } }
  end
  return {}
end

function dns_get_all_domains()
  return { [newDN("perf.example.")] = { id = 1, kind = "NATIVE", serial = 1 } }
end

-- lua2 backend (API 2): two zones from a table in the script, in the style
-- of PowerDNS's own lua2 examples. Runs unchanged under pdns_server 4.7
-- (launch=lua2, lua2-api=2) and ljdns serve (modules = { lua2 = ... }).
local ttl = 3600
local zones = {
  ["lua2.example."] = { id = 1, records = {
    ["lua2.example."] = {
      { "SOA", "ns1.lua2.example. hostmaster.lua2.example. 2026120401 7200 3600 1209600 300" },
      { "NS", "ns1.lua2.example." }, { "NS", "ns2.other.example." },
      { "MX", "10 mail.lua2.example." }, { "MX", "20 mx.elsewhere.invalid." },
      { "TXT", "\"v=spf1 -all\"" },
    },
    ["ns1.lua2.example."] = { { "A", "192.0.2.53" }, { "AAAA", "2001:db8::53" } },
    ["www.lua2.example."] = { { "A", "192.0.2.1" }, { "A", "192.0.2.2" }, { "AAAA", "2001:db8::1" } },
    ["mail.lua2.example."] = { { "A", "192.0.2.25" } },
    ["alias.lua2.example."] = { { "CNAME", "www.lua2.example." } },
    ["chain.lua2.example."] = { { "CNAME", "alias.lua2.example." } },
    ["cross.lua2.example."] = { { "CNAME", "www.other.example." } },
    ["out.lua2.example."] = { { "CNAME", "www.elsewhere.invalid." } },
    ["dangling.lua2.example."] = { { "CNAME", "nothing.lua2.example." } },
    ["loop1.lua2.example."] = { { "CNAME", "loop2.lua2.example." } },
    ["loop2.lua2.example."] = { { "CNAME", "loop1.lua2.example." } },
    ["*.wild.lua2.example."] = { { "TXT", "\"wildcard\"" }, { "A", "192.0.2.99" } },
    ["*.cwild.lua2.example."] = { { "CNAME", "www.lua2.example." } },
    ["a.b.ent.lua2.example."] = { { "TXT", "\"deep\"" } },
    ["sub.lua2.example."] = { { "NS", "ns.sub.lua2.example." }, { "NS", "ns.other.example." } },
    ["ns.sub.lua2.example."] = { { "A", "192.0.2.54" } },
    ["_sip._udp.lua2.example."] = { { "SRV", "10 60 5060 sip.lua2.example." } },
    ["sip.lua2.example."] = { { "A", "192.0.2.60" }, { "AAAA", "2001:db8::60" } },
    ["ptr.lua2.example."] = { { "PTR", "www.lua2.example." } },
    ["long.lua2.example."] = { { "TXT", "\"" .. string.rep("x", 200) .. "\" \"" .. string.rep("y", 200) .. "\"" },
                               { "TXT", "\"" .. string.rep("z", 250) .. "\"" } },
    ["many.lua2.example."] = {},
  } },
  ["other.example."] = { id = 2, records = {
    ["other.example."] = {
      { "SOA", "ns.other.example. hostmaster.other.example. 7 3600 600 86400 60" },
      { "NS", "ns.other.example." },
    },
    ["ns.other.example."] = { { "A", "192.0.2.80" } },
    ["ns2.other.example."] = { { "A", "192.0.2.81" } },
    ["www.other.example."] = { { "A", "192.0.2.82" } },
  } },
}
for i = 1, 40 do
  table.insert(zones["lua2.example."].records["many.lua2.example."], { "A", "198.51.100." .. i })
end

local function zoneof(name)
  local dn = newDN(name)
  repeat
    local z = zones[dn:toString()]
    if z then return z end
  until not dn:chopOff()
end

local function rows(name, want)
  local z = zoneof(name)
  if not z then return {} end
  local out = {}
  for _, r in ipairs(z.records[name] or {}) do
    if want == "ANY" or want == r[1] then
      out[#out + 1] = { name = name, type = r[1], content = r[2], ttl = ttl, domain_id = z.id, auth = true }
    end
  end
  return out
end

function dns_lookup(qtype, qname, domain_id, ctx)
  return rows(qname:toString(), qtype:getName())
end

function dns_list(target, domain_id)
  local z = zones[target:toString()]
  if not z then return false end
  local out = {}
  for name in pairs(z.records) do
    for _, r in ipairs(rows(name, "ANY")) do out[#out + 1] = r end
  end
  return out
end

function dns_get_all_domains()
  local out = {}
  for name, z in pairs(zones) do
    out[newDN(name)] = { id = z.id, kind = "NATIVE" }
  end
  return out
end

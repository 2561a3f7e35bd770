-- lua2 backend (API 2) serving example.test. from a table: the rig's
-- pdns tests compare two of these.
local zone = "example.test."
local rrs = {
  ["example.test."] = {
    { "SOA", "ns1.example.test. hostmaster.example.test. 2026120401 7200 3600 1209600 300" },
    { "NS", "ns1.example.test." }, { "NS", "ns2.example.test." },
    { "MX", "10 mail.example.test." }, { "TXT", "\"v=spf1 -all\"" },
  },
  ["ns1.example.test."] = { { "A", "127.0.0.2" } },
  ["ns2.example.test."] = { { "AAAA", "::1" } },
  ["www.example.test."] = { { "A", "192.0.2.1" }, { "A", "192.0.2.2" }, { "AAAA", "2001:db8::1" } },
  ["mail.example.test."] = { { "A", "192.0.2.25" } },
  ["alias.example.test."] = { { "CNAME", "www.example.test." } },
  ["*.wild.example.test."] = { { "TXT", "\"wildcard\"" } },
  ["sub.example.test."] = { { "NS", "ns.sub.example.test." } },
  ["ns.sub.example.test."] = { { "A", "192.0.2.53" } },
  ["long.example.test."] = { { "TXT", "\"one\" \"two\" \"three\"" } },
}

local function rows(name, want)
  local out = {}
  for _, r in ipairs(rrs[name] or {}) do
    if want == "ANY" or want == r[1] then
      out[#out + 1] = { name = name, type = r[1], content = r[2], ttl = 3600, domain_id = 1, auth = true }
    end
  end
  return out
end

function dns_lookup(qtype, qname, domain_id, ctx)
  local name = tostring(qname):lower()
  if not qname:isPartOf(newDN(zone)) then return {} end
  return rows(name, qtype:getName())
end

function dns_list(target, domain_id)
  if tostring(target):lower() ~= zone then return false end
  local out = {}
  for name in pairs(rrs) do
    for _, r in ipairs(rows(name, "ANY")) do out[#out + 1] = r end
  end
  return out
end

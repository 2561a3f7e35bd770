-- lua2 backend (API 2) serving the records of a zone file read at start
-- ($LUA2_ZONEFILE, or zonefile.zone next to the script: "owner ttl IN type
-- data" lines; pdns_server loads the script as a string, without its path).
-- Names are kept lowercased; lookups compare lowercased names, so any case
-- in a query matches. No dns_get_all_domains: pdns finds the zone by SOA
-- lookups (zone-cache-refresh-interval=0), as does ljdns without it.
local dir = debug.getinfo(1, "S").source:gsub("^@", ""):match("^(.*/)") or ""
local byname, zone = {}, nil

for line in io.lines(os.getenv("LUA2_ZONEFILE") or (dir .. "zonefile.zone")) do
  line = line:gsub(";.*$", "")
  local owner, ttl, class, rtype, data = line:match("^(%S+)%s+(%d+)%s+(%S+)%s+(%S+)%s+(.-)%s*$")
  if owner then
    owner = owner:lower()
    local r = { name = owner, type = rtype:upper(), content = data, ttl = tonumber(ttl), domain_id = 1, auth = true }
    byname[owner] = byname[owner] or {}
    table.insert(byname[owner], r)
    if r.type == "SOA" then zone = owner end
  end
end
assert(zone, "zonefile.zone has no SOA")

function dns_lookup(qtype, qname, domain_id, ctx)
  local want = qtype:getName()
  local out = {}
  for _, r in ipairs(byname[qname:toString():lower()] or {}) do
    if want == "ANY" or want == r.type then out[#out + 1] = r end
  end
  return out
end

function dns_list(target, domain_id)
  if target:toString():lower() ~= zone then return false end
  local out = {}
  for _, rs in pairs(byname) do
    for _, r in ipairs(rs) do out[#out + 1] = r end
  end
  return out
end

function dns_get_domaininfo(domain)
  if domain:toString():lower() ~= zone then return false end
  return { id = 1, kind = "NATIVE", serial = 2026120401 }
end

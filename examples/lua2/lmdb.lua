-- lua2 backend (API 2) answering from a dns.lmdb store ($LUA2_LMDB, filled
-- by lmdb-load.lua): key = lowercased owner name, value = "TYPE TTL data"
-- lines; key "zones" lists the zones for dns_get_all_domains. pdns_server
-- has no dns.lmdb: there the script loads the stand-in $LUA2_LMDB_SHIM
-- names (same API over the same data, for the differential tests).
local ok, lmdb = pcall(require, "dns.lmdb")
if not ok then lmdb = dofile(assert(os.getenv("LUA2_LMDB_SHIM"), "no dns.lmdb and no LUA2_LMDB_SHIM")) end
local path = assert(os.getenv("LUA2_LMDB"), "set LUA2_LMDB to the store directory")
local env = assert(lmdb.open(path))

local function get(key)
  local txn = assert(env:txn(0, "rdonly"))
  local v = txn:get(key)
  local s = v and tostring(v)
  txn:abort()
  return s
end

local function records(name, want)
  local out = {}
  for rtype, ttl, data in (get(name) or ""):gmatch("(%S+) (%d+) ([^\n]*)\n") do
    if want == "ANY" or want == rtype then
      out[#out + 1] = { name = name, type = rtype, content = data, ttl = tonumber(ttl), domain_id = 1, auth = true }
    end
  end
  return out
end

function dns_lookup(qtype, qname, domain_id, ctx)
  return records(qname:toString():lower(), qtype:getName())
end

function dns_get_all_domains()
  local out = {}
  for z in (get("zones") or ""):gmatch("%S+") do out[newDN(z)] = { id = 1, kind = "NATIVE" } end
  return out
end

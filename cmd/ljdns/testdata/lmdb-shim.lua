-- A stand-in for dns.lmdb under pdns_server (tests only): open/txn/get/abort
-- over the records of $LUA2_LMDB_DATA, in lmdb-load.lua's layout.
local rows, zones = {}, {}
for line in io.lines(assert(os.getenv("LUA2_LMDB_DATA"))) do
  line = line:gsub(";.*$", "")
  local owner, ttl, _, rtype, rdata = line:match("^(%S+)%s+(%d+)%s+(%S+)%s+(%S+)%s+(.-)%s*$")
  if owner then
    owner = owner:lower()
    rows[owner] = (rows[owner] or "") .. rtype:upper() .. " " .. ttl .. " " .. rdata .. "\n"
    if rtype:upper() == "SOA" then zones[#zones + 1] = owner end
  end
end
rows["zones"] = table.concat(zones, " ")
local txn = { get = function(_, k) return rows[k] end, abort = function() end }
local env = { txn = function() return txn end }
return { open = function() return env end }

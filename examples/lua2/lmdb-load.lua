-- ljdns lmdb-load.lua STORE-DIR DATA: fills a dns.lmdb store with the
-- records of DATA ("owner ttl IN type data" lines) for lmdb.lua.
local lmdb = require("dns.lmdb")
local dir, data = assert(arg[1], "store directory"), assert(arg[2], "data file")
local env = assert(lmdb.open(dir))
local txn, db = assert(env:open())
local rows, zones = {}, {}
for line in io.lines(data) do
  line = line:gsub(";.*$", "")
  local owner, ttl, _, rtype, rdata = line:match("^(%S+)%s+(%d+)%s+(%S+)%s+(%S+)%s+(.-)%s*$")
  if owner then
    owner = owner:lower()
    rows[owner] = (rows[owner] or "") .. rtype:upper() .. " " .. ttl .. " " .. rdata .. "\n"
    if rtype:upper() == "SOA" then zones[#zones + 1] = owner end
  end
end
for owner, v in pairs(rows) do assert(txn:put(owner, v)) end
assert(txn:put("zones", table.concat(zones, " ")))
assert(txn:commit())
env:close()

-- lua2 backend with a bad behaviour per name under fault.example.
local soa = { name = "fault.example.", type = "SOA", content = "ns.fault.example. h.fault.example. 1 3600 600 86400 60", ttl = 60, auth = true }
local bad = {
  ["error.fault.example."] = function() error("boom") end,
  ["shape.fault.example."] = function() return "not a table" end,
  ["shape2.fault.example."] = function() return { "not a record" } end,
  ["type.fault.example."] = function() return { { name = "type.fault.example.", type = "NOSUCHTYPE", content = "x", ttl = 60, auth = true } } end,
  ["content.fault.example."] = function() return { { name = "content.fault.example.", type = "A", content = "not-an-address", ttl = 60, auth = true } } end,
  ["auth.fault.example."] = function() return { { name = "auth.fault.example.", type = "A", content = "192.0.2.7", ttl = 60, auth = 1 } } end,
  ["ttl.fault.example."] = function() return { { name = "ttl.fault.example.", type = "A", content = "192.0.2.7", ttl = "long", auth = true } } end,
}

function dns_lookup(qtype, qname, domain_id, ctx)
  local name = qname:toString():lower()
  if name == "fault.example." then
    if qtype:getName() == "SOA" or qtype:getName() == "ANY" then return { soa } end
    return {}
  end
  if qtype:getName() == "SOA" then return {} end
  if name == "good.fault.example." then
    return { { name = name, type = "A", content = "192.0.2.1", ttl = 60, auth = true } }
  end
  if name == "loop.fault.example." and LOOP then
    while true do end
  end
  local f = bad[name]
  if f then return f() end
  return {}
end

-- say: the message registry luassert formats its failure messages with.
-- s:set(key, text) stores a message, s(key, vars) formats it with
-- string.format (vars is an array of already formatted strings).
local format, unpack = string.format, unpack

local say = { namespaces = { en = {} }, current = 'en' }

function say:set_namespace(ns)
  self.current = ns
  self.namespaces[ns] = self.namespaces[ns] or {}
end

function say:set(key, text)
  local ns = self.namespaces[self.current]
  ns[key] = text
end

function say:get(key)
  return self.namespaces[self.current][key] or self.namespaces.en[key]
end

return setmetatable(say, {
  __call = function(self, key, vars)
    local text = self:get(key)
    if text == nil then return nil end
    vars = vars or {}
    local ok, out = pcall(format, text, unpack(vars, 1, vars.n or #vars))
    if ok then return out end
    return text
  end,
})

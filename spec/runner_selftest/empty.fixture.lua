-- Fixture for luamod/spec tests: no it at all, which counts as an error.
describe('nothing here', function()
  local x = 1
end)

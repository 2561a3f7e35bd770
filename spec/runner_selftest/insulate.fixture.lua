-- Fixture for luamod/spec tests: insulate and expose. The Go test checks the
-- globals left behind after the (auto-insulated) file.
file_global = 'set by the file'

insulate('an insulated block', function()
  insulated_global = 'inside'
  package.loaded['fixture.fake'] = { fake = true }
  it('sees what its block set', function()
    assert.equal('inside', insulated_global)
    assert.same({ fake = true }, require('fixture.fake'))
    set_in_insulated_test = true
  end)
end)

describe('after the insulated block', function()
  it('does not see its globals or modules', function()
    assert.is_nil(insulated_global)
    assert.is_nil(set_in_insulated_test)
    assert.is_nil(package.loaded['fixture.fake'])
    assert.equal('set by the file', file_global)
  end)
end)

expose('an exposed block', function()
  exposed_global = 'exposed'
  it('runs', function() assert.equal('exposed', exposed_global) end)
end)

describe('after the exposed block', function()
  it('sees its globals', function() assert.equal('exposed', exposed_global) end)
end)

-- Fixture for luamod/spec tests: hook order. The Go test reads the global
-- hook_log after the run.
hook_log = {}
local function add(s) hook_log[#hook_log + 1] = s end

describe('outer', function()
  add('collect outer')
  setup(function() add('setup') end)
  teardown(function() add('teardown') end)
  before_each(function() add('before outer') end)
  after_each(function() add('after outer') end)

  it('one', function() add('one') end)

  describe('inner', function()
    add('collect inner')
    lazy_setup(function() add('lazy_setup inner') end)
    strict_teardown(function() add('strict_teardown inner') end)
    before_each(function() add('before inner') end)
    after_each(function() add('after inner') end)
    it('two', function()
      add('two')
      finally(function() add('finally two') end)
    end)
  end)

  describe('empty inner', function()
    setup(function() add('never: setup of a block without tests') end)
    pending('later')
  end)
end)

describe('failing before_each', function()
  before_each(function() error('before_each broke') end)
  after_each(function() add('after_each still runs') end)
  it('is an error', function() add('never: body after a failed before_each') end)
end)

-- luassert-compatible assertions, matchers, spies, stubs and mocks for
-- `ljdns test`. Loaded once per Lua state by luamod/spec (Go), which passes
-- the say module, the host equality helper (cross-type __eq, may be nil)
-- and the set of chunk names that belong to the runner itself.
local say, hosteq, internal = ...

local type, pairs, ipairs, next, select, tostring, tonumber = type, pairs, ipairs, next, select, tostring, tonumber
local error, pcall, rawget, rawset, rawequal = error, pcall, rawget, rawset, rawequal
local setmetatable, getmetatable = setmetatable, getmetatable
local unpack, format, concat, sort = unpack, string.format, table.concat, table.sort
local getinfo = debug.getinfo

local M = { internal = internal }

-- eq is `a == b` with the host's semantics (a userdata's __eq also decides
-- against a string), falling back to plain Lua equality.
local function eq(a, b)
  if hosteq then return hosteq(a, b) end
  return a == b
end
M.eq = eq

local function pack(...) return { n = select('#', ...), ... } end

---------------------------------------------------------------------------
-- Failure location and the failure registry
---------------------------------------------------------------------------

-- where returns "source:line: " of the first stack frame outside the runner
-- (the spec line that called the assertion), or "".
local function where()
  for level = 2, 60 do
    local info = getinfo(level, 'Sl')
    if not info then break end
    if info.what ~= 'G' and not internal[info.short_src] and (info.currentline or -1) > 0 then
      return info.short_src .. ':' .. info.currentline .. ': '
    end
  end
  return ''
end
M.where = where

-- The runner tells an assertion failure from any other error by comparing
-- the raised value with the last failure raised here. Failures are plain
-- strings ("file:line: message"), as luassert raises them.
local last_failure
function M.is_failure(err) return last_failure ~= nil and rawequal(err, last_failure) end
function M.reset_failure() last_failure = nil end

local function fail(message)
  last_failure = where() .. message
  error(last_failure, 0)
end
M.fail = fail

---------------------------------------------------------------------------
-- Parameters and formatters
---------------------------------------------------------------------------

local parameters = { TableFormatLevel = 3, TableFormatShowRecursion = false,
  TableErrorHighlightCharacter = '*', TableErrorHighlightColor = 'none' }
local formatters = {}

-- num renders a number as luassert does: all 17 significant digits
-- (%.20g), and NaN, Inf, -Inf.
local function num(v)
  if v ~= v then return 'NaN' end
  if v == math.huge then return 'Inf' end
  if v == -math.huge then return '-Inf' end
  return format('%.20g', v)
end

local function tostr(v)
  if type(v) == 'number' then return num(v) end
  return tostring(v)
end

-- Table keys are listed as luassert lists them: the array part in order,
-- then numbers, booleans (true first), strings, tables, functions,
-- userdata, threads; numbers and strings sorted within their kind.
local key_rank = { number = 1, boolean = 2, string = 3, table = 4, ['function'] = 5, userdata = 6, thread = 7 }

local function sorted_keys(t)
  local keys = {}
  for k in next, t, nil do keys[#keys + 1] = k end
  local len = #t
  local function rank(k)
    if type(k) == 'number' and k >= 1 and k <= len and math.floor(k) == k then return 0 end
    return key_rank[type(k)] or 8
  end
  sort(keys, function(a, b)
    local ra, rb = rank(a), rank(b)
    if ra ~= rb then return ra < rb end
    local ta = type(a)
    if ta == 'number' or ta == 'string' then return a < b end
    if ta == 'boolean' then return a and not b end
    return tostring(a) < tostring(b)
  end)
  return keys
end

-- format_table renders t as "{\n  [k] = v ... }", two spaces per level,
-- string values in single quotes; the keys on the path to a difference
-- (crumbs, innermost first) are marked with TableErrorHighlightCharacter.
local function format_table(t, crumbs)
  crumbs = crumbs or {}
  local tmax = parameters.TableFormatLevel or 3
  local showrec = parameters.TableFormatShowRecursion
  local errchar = parameters.TableErrorHighlightCharacter or ''
  local active = {}
  local function ft(t, l, marked)
    if active[t] and (showrec or tmax < 0) then return '{ ... recursive }' end
    if next(t) == nil then return '{ }' end
    if l > tmax and tmax >= 0 then return '{ ... more }' end
    active[t] = true
    local out = { '{' }
    local crumb = crumbs[#crumbs - l + 1]
    for _, k in ipairs(sorted_keys(t)) do
      local v = rawget(t, k)
      local hit = marked and crumb ~= nil and (rawequal(crumb, k) or crumb == k)
      if type(v) == 'table' then
        v = ft(v, l + 1, hit)
      elseif type(v) == 'string' then
        v = "'" .. v .. "'"
      else
        v = tostr(v)
      end
      local ch = hit and errchar or ''
      out[#out + 1] = '\n' .. (' '):rep(l * 2 - #ch) .. ch .. '[' .. tostr(k) .. '] = ' .. v
    end
    active[t] = nil
    return concat(out) .. ' }'
  end
  return '(table) ' .. ft(t, 1, true)
end

-- format_value renders a value the way luassert messages show it:
-- "(number) 1", "(string) 'abc'", "(nil)", "(table) { ... }". Formatters
-- added with assert:add_formatter are tried first, newest first.
local function format_value(v, fmtargs)
  for i = #formatters, 1, -1 do
    local out = formatters[i](v, fmtargs)
    if out ~= nil then return out end
  end
  local t = type(v)
  if t == 'nil' then return '(nil)' end
  if t == 'string' then return "(string) '" .. v .. "'" end
  if t == 'number' then return '(number) ' .. num(v) end
  if t == 'boolean' then return '(boolean) ' .. tostring(v) end
  if t == 'table' then return format_table(v, fmtargs and fmtargs.crumbs) end
  if t == 'function' then
    local info = getinfo(v, 'S')
    return tostring(v) .. ' @ line ' .. tostring(info and info.linedefined) .. ' in ' .. tostring(info and info.source)
  end
  local ok, s = pcall(tostring, v)
  return '(' .. t .. ") '" .. (ok and tostring(s) or t) .. "'"
end

local function format_arg(v, fmtargs)
  return format_value(v, fmtargs)
end
M.format_value = format_value

---------------------------------------------------------------------------
-- Deep comparison
---------------------------------------------------------------------------

-- deepcompare compares two tables key by key, recursively, ignoring
-- metatables; other values compare with eq. On a mismatch it also returns
-- the key path (innermost first) for message highlighting.
local function deepcompare(a, b, cycles)
  if rawequal(a, b) then return true end
  if type(a) ~= 'table' or type(b) ~= 'table' then return eq(a, b), {} end
  cycles = cycles or {}
  local seen = cycles[a]
  if seen == nil then
    seen = {}
    cycles[a] = seen
  end
  if seen[b] then return true end
  seen[b] = true
  for k, va in next, a, nil do
    local vb = rawget(b, k)
    if vb == nil then return false, { k } end
    local same, crumbs = deepcompare(va, vb, cycles)
    if not same then
      crumbs[#crumbs + 1] = k
      return false, crumbs
    end
  end
  for k in next, b, nil do
    if rawget(a, k) == nil then return false, { k } end
  end
  return true
end
M.deepcompare = deepcompare

local function deepcopy(t, seen)
  if type(t) ~= 'table' then return t end
  seen = seen or {}
  if seen[t] then return seen[t] end
  local c = {}
  seen[t] = c
  for k, v in next, t, nil do c[k] = deepcopy(v, seen) end
  return setmetatable(c, getmetatable(t))
end
M.deepcopy = deepcopy

---------------------------------------------------------------------------
-- Matchers (match._, match.is_string(), match.is_not.same(x), ...)
---------------------------------------------------------------------------

local matcher_mt = {}
matcher_mt.__index = matcher_mt
matcher_mt.__tostring = function(m) return 'matcher(' .. m.name .. ')' end
local function is_matcher(v) return getmetatable(v) == matcher_mt end

local matchers = {}

local function new_matcher(name, fn, mod, args)
  return setmetatable({ name = name, callback = fn, mod = mod, arguments = args }, matcher_mt)
end

function matcher_mt:__call(value)
  local ok = self.callback(value, self.arguments)
  return (ok and true or false) == self.mod
end

local function type_matcher(t) return function(v) return type(v) == t end end
matchers['_'] = function() return true end
matchers['true'] = function(v) return v == true end
matchers['false'] = function(v) return v == false end
matchers['nil'] = function(v) return v == nil end
for _, t in ipairs({ 'boolean', 'number', 'string', 'table', 'function', 'userdata', 'thread' }) do
  matchers[t] = type_matcher(t)
end
matchers['truthy'] = function(v) return v ~= nil and v ~= false end
matchers['falsy'] = function(v) return v == nil or v == false end
matchers['same'] = function(v, a) return (deepcompare(a[1], v)) end
matchers['equals'] = function(v, a) return eq(a[1], v) end
matchers['equal'] = matchers['equals']
matchers['ref'] = function(v, a) return rawequal(a[1], v) end
matchers['matches'] = function(v, a)
  return type(v) == 'string' and v:find(a[1], a[2], a[3]) ~= nil
end
matchers['match'] = matchers['matches']
matchers['near'] = function(v, a)
  return type(v) == 'number' and v >= a[1] - a[2] and v <= a[1] + a[2]
end
matchers['none_of'] = function(v, a)
  for i = 1, a.n do if a[i](v) then return false end end
  return true
end
matchers['any_of'] = function(v, a)
  for i = 1, a.n do if a[i](v) then return true end end
  return false
end
matchers['all_of'] = function(v, a)
  for i = 1, a.n do if not a[i](v) then return false end end
  return true
end

local match_modifiers = { is = true, are = true, was = true, has = true, does = true, ['not'] = false, no = false }

-- extract splits a chained key ("is_not_nil", "has_no_errors",
-- "error_matches") into known words, preferring the longest match from the
-- left. It returns nil and the unknown rest when a part is not known.
local function extract(key, known)
  if key == '_' then return { '_' } end
  local tokens = {}
  for tok in key:lower():gmatch('[^_]+') do tokens[#tokens + 1] = tok end
  local keys, i = {}, 1
  while i <= #tokens do
    local found
    for j = #tokens, i, -1 do
      local cand = concat(tokens, '_', i, j)
      if known(cand) then found = j; keys[#keys + 1] = cand; break end
    end
    if not found then return nil, concat(tokens, '_', i, #tokens) end
    i = found + 1
  end
  return keys
end

local match_state_mt = {}
local function match_state(mod) return setmetatable({ mod = mod }, match_state_mt) end
match_state_mt.__index = function(self, key)
  local keys, bad = extract(key, function(k) return match_modifiers[k] ~= nil or matchers[k] ~= nil end)
  if not keys then error("luassert: unknown matcher: '" .. bad .. "'", 2) end
  local mod = rawget(self, 'mod')
  for i, k in ipairs(keys) do
    if match_modifiers[k] ~= nil then
      if match_modifiers[k] == false then mod = not mod end
      if i == #keys then return match_state(mod) end
    else
      local fn, m = matchers[k], mod
      if k == '_' then return new_matcher('_', fn, m, pack()) end
      return function(...) return new_matcher(k, fn, m, pack(...)) end
    end
  end
end

local match = setmetatable({}, {
  __index = function(_, key)
    if key == '_' then return new_matcher('_', matchers['_'], true, pack()) end
    return match_state(true)[key]
  end,
})
rawset(match, 'is_matcher', is_matcher)
M.match = match

-- matchargs compares an expected argument list (values or matchers) with
-- one recorded call: matchers see the actual objects (refs), plain values
-- are compared deeply with the arguments as they were at call time (vals).
-- Missing trailing arguments count as nil.
local function matchargs(expected, vals, refs)
  refs = refs or vals
  local n = math.max(expected.n or #expected, vals.n or #vals)
  for i = 1, n do
    local e = expected[i]
    if is_matcher(e) then
      if not e(refs[i]) then return false end
    elseif not deepcompare(e, vals[i]) then
      return false
    end
  end
  return true
end

---------------------------------------------------------------------------
-- Spies, stubs and mocks
---------------------------------------------------------------------------

local spy_mt = {}
local active = {} -- spies installed on tables, in creation order (auto-revert)

local function is_spy(v) return type(v) == 'table' and getmetatable(v) == spy_mt end

local function record(self, args, ...)
  local ret = pack(...)
  self.returnvals[#self.returnvals + 1] = ret
  return ...
end

spy_mt.__call = function(self, ...)
  local args = pack(...)
  local call = { n = args.n, vals = deepcopy(args), refs = args }
  for i = 1, args.n do call[i] = args[i] end
  self.calls[#self.calls + 1] = call
  return record(self, args, self.callback(...))
end

local spy_methods = {}
spy_mt.__index = spy_methods
spy_mt.__tostring = function() return 'spy' end

function spy_methods:revert()
  if self.target_table ~= nil then
    if rawequal(self.target_table[self.target_key], self) then
      self.target_table[self.target_key] = self.original
    end
  end
  return self
end

function spy_methods:clear()
  self.calls, self.returnvals = {}, {}
  return self
end

function spy_methods:called(times, compare)
  local n = #self.calls
  if times == nil then return n > 0, n end
  compare = compare or function(a, b) return a == b end
  return compare(n, times), n
end

function spy_methods:called_with(args)
  for i = #self.calls, 1, -1 do
    if matchargs(args, self.calls[i].vals, self.calls[i].refs) then return true end
  end
  return false
end

function spy_methods:returned_with(args)
  for i = #self.returnvals, 1, -1 do
    if matchargs(args, self.returnvals[i]) then return true end
  end
  return false
end

local spy = {}

-- spy.new(fn) returns a callable that records every call and forwards it.
function spy.new(fn)
  if fn ~= nil and type(fn) ~= 'function' and not (getmetatable(fn) or {}).__call then
    error('cannot spy on a ' .. type(fn) .. ' value', 2)
  end
  local s = setmetatable({ calls = {}, returnvals = {}, callback = fn or function() end }, spy_mt)
  return s
end

-- spy.on(tbl, key) replaces tbl[key] with a spy on it; s:revert() restores.
function spy.on(tbl, key)
  local s = spy.new(tbl[key])
  s.target_table, s.target_key, s.original = tbl, key, tbl[key]
  tbl[key] = s
  active[#active + 1] = s
  return s
end

spy.is_spy = is_spy
setmetatable(spy, { __call = function(_, fn) return spy.new(fn) end })
M.spy = spy

local stub = {}

local function returns_fn(s)
  return function(...)
    local vals = pack(...)
    if rawequal(vals[1], s) then vals = pack(select(2, ...)) end
    s.callback = function() return unpack(vals, 1, vals.n) end
    return s
  end
end

local function invokes_fn(s)
  return function(a, b)
    local fn = rawequal(a, s) and b or a
    s.callback = fn
    return s
  end
end

-- stub.new(tbl, key, ...) replaces tbl[key] with a spy that returns ...
-- (s.returns(...) / s.invokes(fn) change that later).
function stub.new(tbl, key, ...)
  local vals = pack(...)
  local s = spy.new(function() return unpack(vals, 1, vals.n) end)
  s.returns = returns_fn(s)
  s.invokes = invokes_fn(s)
  if tbl ~= nil then
    s.target_table, s.target_key = tbl, key
    if key ~= nil then
      s.original = tbl[key]
      tbl[key] = s
    end
    active[#active + 1] = s
  end
  return s
end
stub.is_stub = is_spy
setmetatable(stub, { __call = function(_, ...) return stub.new(...) end })
M.stub = stub

local mock = {}

local function mock_apply(tbl, dostub, func, seen)
  seen = seen or {}
  if seen[tbl] then return tbl end
  seen[tbl] = true
  for k, v in pairs(tbl) do
    if type(v) == 'function' or is_spy(v) then
      if not is_spy(v) then
        if dostub then stub.new(tbl, k) else spy.on(tbl, k) end
      end
      if func then func(tbl[k]) end
    elseif type(v) == 'table' then
      mock_apply(v, dostub, func, seen)
    end
  end
  return tbl
end

-- mock(tbl [, dostub]) spies (or stubs) every function in tbl, recursively.
function mock.new(tbl, dostub) return mock_apply(tbl, dostub) end
function mock.revert(tbl) return mock_apply(tbl, false, function(s) s:revert() end) end
function mock.clear(tbl) return mock_apply(tbl, false, function(s) s:clear() end) end
setmetatable(mock, { __call = function(_, tbl, dostub) return mock.new(tbl, dostub) end })
M.mock = mock

-- mark/revert_to implement automatic reverting of spies and stubs made in
-- a test or a describe block's setup.
function M.mark() return #active end
function M.revert_to(n)
  for i = #active, n + 1, -1 do
    active[i]:revert()
    active[i] = nil
  end
end

---------------------------------------------------------------------------
-- Assertions
---------------------------------------------------------------------------

local messages = {
  ['assertion.same.positive'] = 'Expected objects to be the same.\nPassed in:\n%s\nExpected:\n%s',
  ['assertion.same.negative'] = 'Expected objects to not be the same.\nPassed in:\n%s\nDid not expect:\n%s',
  ['assertion.equals.positive'] = 'Expected objects to be equal.\nPassed in:\n%s\nExpected:\n%s',
  ['assertion.equals.negative'] = 'Expected objects to not be equal.\nPassed in:\n%s\nDid not expect:\n%s',
  ['assertion.near.positive'] = 'Expected values to be near.\nPassed in:\n%s\nExpected:\n%s +/- %s',
  ['assertion.near.negative'] = 'Expected values to not be near.\nPassed in:\n%s\nDid not expect:\n%s +/- %s',
  ['assertion.matches.positive'] = 'Expected strings to match.\nPassed in:\n%s\nExpected:\n%s',
  ['assertion.matches.negative'] = 'Expected strings not to match.\nPassed in:\n%s\nDid not expect:\n%s',
  ['assertion.unique.positive'] = 'Expected object to be unique:\n%s',
  ['assertion.unique.negative'] = 'Expected object to not be unique:\n%s',
  ['assertion.error.positive'] = 'Expected a different error.\nCaught:\n%s\nExpected:\n%s',
  ['assertion.error.negative'] = 'Expected no error, but caught:\n%s',
  ['assertion.truthy.positive'] = 'Expected to be truthy, but value was:\n%s',
  ['assertion.truthy.negative'] = 'Expected to not be truthy, but value was:\n%s',
  ['assertion.falsy.positive'] = 'Expected to be falsy, but value was:\n%s',
  ['assertion.falsy.negative'] = 'Expected to not be falsy, but value was:\n%s',
  ['assertion.type.positive'] = 'Expected a value of type %s, but value was:\n%s',
  ['assertion.type.negative'] = 'Expected a value not of type %s, but value was:\n%s',
  ['assertion.value.positive'] = 'Expected value to be %s, but value was:\n%s',
  ['assertion.value.negative'] = 'Expected value to not be %s, but value was:\n%s',
  ['assertion.returned_arguments.positive'] = 'Expected to be called with %s argument(s), but was called with %s',
  ['assertion.returned_arguments.negative'] = 'Expected not to be called with %s argument(s), but was called with %s',
  ['assertion.called.positive'] = 'Expected to be called %s time(s), but was called %s time(s)',
  ['assertion.called.negative'] = 'Expected not to be called exactly %s time(s), but it was.',
  ['assertion.called_at_least.positive'] = 'Expected to be called at least %s time(s), but was called %s time(s)',
  ['assertion.called_at_most.positive'] = 'Expected to be called at most %s time(s), but was called %s time(s)',
  ['assertion.called_more_than.positive'] = 'Expected to be called more than %s time(s), but was called %s time(s)',
  ['assertion.called_less_than.positive'] = 'Expected to be called less than %s time(s), but was called %s time(s)',
  ['assertion.called_with.positive'] = 'Function was never called with matching arguments.\nCalled with (last call if any):\n%s\nExpected:\n%s',
  ['assertion.called_with.negative'] = 'Function was called with matching arguments at least once.\nCalled with (last matching call):\n%s\nDid not expect:\n%s',
  ['assertion.returned_with.positive'] = 'Function never returned matching arguments.\nReturned (last call if any):\n%s\nExpected:\n%s',
  ['assertion.returned_with.negative'] = 'Function returned matching arguments at least once.\nReturned (last matching call):\n%s\nDid not expect:\n%s',
  ['assertion.internal.argtolittle'] = 'the \'%s\' function requires a minimum of %s arguments, got: %s',
  ['assertion.internal.badargtype'] = 'bad argument #%s to \'%s\' (%s expected, got %s)',
}
for k, v in pairs(messages) do say:set(k, v) end

-- Each built-in assertion is fn(state, args) -> ok, messagevars; the
-- assertion's own optional message argument index is msgarg.
local assertions = {}
local modifiers = {
  is = true, are = true, was = true, has = true, does = true, the = true, a = true, an = true,
  ['not'] = 'not', no = 'not', spy = 'payload', stub = 'payload', message = 'message',
}

local function fmtall(...)
  local out = {}
  for i = 1, select('#', ...) do out[i] = format_value((select(i, ...))) end
  return out
end

local function builtin(names, msgkey, msgarg, fn)
  for _, name in ipairs(names) do
    assertions[name] = { builtin = true, fn = fn, key = msgkey, msgarg = msgarg }
  end
end

local function need(args, n, name)
  if args.n < n then
    error(say('assertion.internal.argtolittle', { name, tostring(n), tostring(args.n) }), 0)
  end
end

builtin({ 'same' }, 'assertion.same', 3, function(state, a)
  need(a, 2, 'same')
  local ok, crumbs = deepcompare(a[1], a[2])
  local cr = { crumbs = crumbs }
  return ok, { format_arg(a[2], cr), format_arg(a[1], cr) }
end)

builtin({ 'equals', 'equal' }, 'assertion.equals', 3, function(state, a)
  need(a, 2, 'equals')
  return rawequal(a[1], a[2]) or eq(a[1], a[2]), fmtall(a[2], a[1])
end)

builtin({ 'truthy' }, 'assertion.truthy', 2, function(state, a)
  return a[1] ~= nil and a[1] ~= false, fmtall(a[1])
end)

builtin({ 'falsy' }, 'assertion.falsy', 2, function(state, a)
  return a[1] == nil or a[1] == false, fmtall(a[1])
end)

-- is_true, is_nil, is_number, ... report as luassert does: "Expected
-- objects to be the same." with the value passed in and what was expected
-- (a value, or "type T" unformatted).
builtin({ 'true' }, 'assertion.same', 2, function(state, a)
  return a[1] == true, { format_value(a[1]), '(boolean) true' }
end)

builtin({ 'false' }, 'assertion.same', 2, function(state, a)
  return a[1] == false, { format_value(a[1]), '(boolean) false' }
end)

for _, t in ipairs({ 'nil', 'boolean', 'number', 'string', 'table', 'function', 'userdata', 'thread' }) do
  builtin({ t }, 'assertion.same', 2, function(state, a)
    return type(a[1]) == t, { format_value(a[1]), 'type ' .. t }
  end)
end

builtin({ 'callable' }, 'assertion.same', 2, function(state, a)
  local v = a[1]
  local ok = type(v) == 'function' or (getmetatable(v) ~= nil and type(getmetatable(v)) == 'table'
    and getmetatable(v).__call ~= nil)
  return ok, { format_value(v), 'type callable' }
end)

builtin({ 'near' }, 'assertion.near', 4, function(state, a)
  need(a, 3, 'near')
  local e, v, tol = tonumber(a[1]), tonumber(a[2]), tonumber(a[3])
  if not (e and v and tol) then
    error(say('assertion.internal.badargtype', { '1', 'near', 'number', type(a[1]) }), 0)
  end
  return v >= e - tol and v <= e + tol, fmtall(a[2], a[1], a[3])
end)

builtin({ 'matches', 'match' }, 'assertion.matches', 5, function(state, a)
  need(a, 2, 'matches')
  local pat, s = a[1], a[2]
  if type(s) == 'number' then s = tostring(s) end
  if type(s) ~= 'string' then return false, fmtall(a[2], a[1]) end
  return s:find(pat, tonumber(a[3]) or 1, a[4] and true or false) ~= nil, fmtall(a[2], a[1])
end)

builtin({ 'unique' }, 'assertion.unique', 3, function(state, a)
  local list, deep = a[1], a[2]
  if type(deep) == 'string' then state.failure_message, deep = deep, false end
  if type(list) ~= 'table' then return false, fmtall(list) end
  local items = {}
  for _, v in pairs(list) do items[#items + 1] = v end
  for i = 1, #items do
    for j = i + 1, #items do
      local same
      if deep then same = deepcompare(items[i], items[j]) else same = rawequal(items[i], items[j]) or eq(items[i], items[j]) end
      if same then return false, fmtall(list) end
    end
  end
  return true, fmtall(list)
end)

local function strip_position(err)
  if type(err) == 'string' then return (err:gsub('^.-:%d+: ', '', 1)) end
  return err
end

local function has_tostring(v)
  local mt = getmetatable(v)
  return type(v) == 'string' or type(v) == 'number' or (type(mt) == 'table' and mt.__tostring ~= nil)
end

-- has_error(fn [, expected [, msg]]): fn raises (an error equal to expected).
builtin({ 'error', 'errors', 'has_error' }, 'assertion.error', 3, function(state, a)
  local fn, expected = a[1], a[2]
  if type(fn) ~= 'function' and not (getmetatable(fn) or {}).__call then
    error(say('assertion.internal.badargtype', { '1', 'error', 'function or callable object', type(fn) }), 0)
  end
  local ok, err = pcall(fn, unpack(a, 4, a.n))
  local actual = strip_position(err)
  if ok then return false, { '(no error)', format_value(expected) }, { format_value(nil) } end
  local vars = { format_value(actual), format_value(expected) }
  local neg = { format_value(actual) }
  if expected == nil then return true, vars, neg end
  if type(expected) == 'string' then
    if has_tostring(actual) then actual = tostring(actual) end
    if type(actual) == 'string' then return expected == actual, { format_value(actual), format_value(expected) }, neg end
  elseif type(expected) == 'number' and type(actual) == 'string' then
    return tostring(expected) == tostring(tonumber(actual)), vars, neg
  end
  return (deepcompare(expected, actual)), vars, neg
end)

-- error_matches(fn, pattern [, init [, plain [, msg]]])
builtin({ 'error_matches', 'matches_error' }, 'assertion.error', 5, function(state, a)
  local fn, pat = a[1], a[2]
  if type(fn) ~= 'function' and not (getmetatable(fn) or {}).__call then
    error(say('assertion.internal.badargtype', { '1', 'error_matches', 'function or callable object', type(fn) }), 0)
  end
  local ok, err = pcall(fn)
  if ok then return false, { '(no error)', format_value(pat) }, { format_value(nil) } end
  local actual = strip_position(err)
  if has_tostring(actual) then actual = tostring(actual) end
  local vars = { format_value(actual), format_value(pat) }
  if type(actual) ~= 'string' then return false, vars, { format_value(actual) } end
  if pat == nil then return true, vars, { format_value(actual) } end
  return actual:find(pat, tonumber(a[3]) or 1, a[4] and true or false) ~= nil, vars, { format_value(actual) }
end)

builtin({ 'returned_arguments' }, 'assertion.returned_arguments', nil, function(state, a)
  local want = a[1]
  return want == a.n - 1, { tostring(want), tostring(a.n - 1) }
end)

-- Spy assertions read the spy from the state (assert.spy(s).was.called()).
local function payload(state, name)
  local s = state.payload
  if not is_spy(s) then
    error("luassert: '" .. name .. "' needs a spy or stub: use assert.spy(s)." .. name .. '(...)', 0)
  end
  return s
end

local function count_check(name, cmp)
  builtin({ name }, 'assertion.' .. name, 2, function(state, a)
    local s = payload(state, name)
    local want = tonumber(a[1])
    if want == nil then error("luassert: '" .. name .. "' needs a number of calls", 0) end
    local ok, n = s:called(want, cmp)
    return ok, { tostring(want), tostring(n) }
  end)
end

builtin({ 'called' }, 'assertion.called', 2, function(state, a)
  local s = payload(state, 'called')
  local want = a[1]
  if want == nil and not state.mod then
    -- was_not.called() means "called 0 times"
    state.mod, want = true, 0
  end
  local ok, n = s:called(want)
  return ok, { want == nil and 'at least 1' or tostring(want), tostring(n) }
end)
count_check('called_at_least', function(n, w) return n >= w end)
count_check('called_at_most', function(n, w) return n <= w end)
count_check('called_more_than', function(n, w) return n > w end)
count_check('called_less_than', function(n, w) return n < w end)

local function lastvals(list)
  local last = list[#list]
  if not last then return '(none)' end
  local parts = {}
  for i = 1, last.n do parts[i] = format_value(last[i]) end
  return '(values list) (' .. concat(parts, ', ') .. ')'
end

local function argsvals(a)
  local parts = {}
  for i = 1, a.n do parts[i] = format_value(a[i]) end
  return '(values list) (' .. concat(parts, ', ') .. ')'
end

builtin({ 'called_with' }, 'assertion.called_with', nil, function(state, a)
  local s = payload(state, 'called_with')
  local calls = {}
  for i, c in ipairs(s.calls) do calls[i] = c.vals end
  return s:called_with(a), { lastvals(calls), argsvals(a) }
end)

builtin({ 'returned_with' }, 'assertion.returned_with', nil, function(state, a)
  local s = payload(state, 'returned_with')
  return s:returned_with(a), { lastvals(s.returnvals), argsvals(a) }
end)

---------------------------------------------------------------------------
-- The assert object: callable, chainable, extensible
---------------------------------------------------------------------------

local assert = {}
local state_mt = {}

local function new_state()
  return setmetatable({ mod = true, payload = nil, failure_message = nil, pending = nil }, state_mt)
end

-- resolve maps a word to a registered assertion: "property" after a
-- modifier finds an assertion registered as "has_property" or "is_property".
local function resolve(k)
  if assertions[k] then return k end
  if assertions['has_' .. k] then return 'has_' .. k end
  if assertions['is_' .. k] then return 'is_' .. k end
end

local function known(k) return modifiers[k] ~= nil or resolve(k) ~= nil end

local function run_assertion(state, name, ...)
  local a = pack(...)
  local def = assertions[name]
  local ok, vars, negvars
  if def.builtin then
    if def.msgarg and a.n >= def.msgarg and a[def.msgarg] ~= nil then
      state.failure_message = a[def.msgarg]
    end
    ok, vars, negvars = def.fn(state, a)
  else
    local r = def.fn(state, a, 1)
    if type(r) ~= 'boolean' then return r end
    ok = r
    local fargs = {}
    for i = 1, a.n do
      fargs[i] = format_arg(a[i], a.fmtargs and a.fmtargs[i])
    end
    fargs.n = a.n
    vars = fargs
  end
  if (ok and true or false) == state.mod then return state end
  local text
  if def.builtin then
    if not state.mod and negvars then vars = negvars end
    text = say(def.key .. (state.mod and '.positive' or '.negative'), vars)
  else
    text = say(state.mod and def.positive or def.negative, vars)
  end
  text = text or ('assertion ' .. name .. ' failed!')
  local fm = state.failure_message
  if fm ~= nil then
    local mt = getmetatable(fm)
    if type(fm) == 'string' or type(fm) == 'number' or (type(mt) == 'table' and mt.__tostring) then
      fm = tostring(fm)
    else
      fm = format_value(fm)
    end
    text = fm .. '\n' .. text
  end
  fail(text)
end

state_mt.__call = function(self, ...)
  -- assert.spy(s), assert.stub(s), assert.message('...')
  if self.pending == 'message' then
    self.failure_message = (...)
  else
    self.payload = (...)
  end
  self.pending = nil
  return self
end

local state_fields = { mod = true, payload = true, failure_message = true, pending = true }

state_mt.__index = function(self, key)
  if type(key) ~= 'string' or state_fields[key] then return nil end
  local keys, bad = extract(key, known)
  if not keys then error("luassert: unknown modifier/assertion: '" .. bad .. "'", 2) end
  for i, k in ipairs(keys) do
    local m = modifiers[k]
    if m ~= nil then
      if m == 'not' then
        rawset(self, 'mod', not rawget(self, 'mod'))
      elseif m == 'payload' or m == 'message' then
        rawset(self, 'pending', m)
      end
    else
      if i ~= #keys then error("luassert: '" .. key .. "': an assertion must come last", 2) end
      local state, name = self, resolve(k)
      return function(...) return run_assertion(state, name, ...) end
    end
  end
  return self
end

-- assert(v, msg, ...) is Lua's assert (returns all its arguments); as in
-- busted, a false v is a failure of the test, not an error. A message that
-- is not a string is raised as it is (the report prints tables).
local assert_mt = {
  __call = function(_, v, ...)
    if not v then
      local msg = (...)
      if msg == nil then msg = 'assertion failed!' end
      if type(msg) == 'string' or type(msg) == 'number' then fail(tostring(msg)) end
      last_failure = msg
      error(msg, 0)
    end
    return v, ...
  end,
  __index = function(_, key)
    if type(key) ~= 'string' then return nil end
    return new_state()[key]
  end,
}
setmetatable(assert, assert_mt)

-- assert:register('assertion'|'modifier'|'matcher', name, fn, pos, neg)
function assert:register(kind, name, fn, positive, negative)
  name = name:lower()
  if kind == 'assertion' then
    assertions[name] = { fn = fn, positive = positive, negative = negative, key = name }
  elseif kind == 'modifier' then
    modifiers[name] = true
  elseif kind == 'matcher' then
    matchers[name] = function(v, args)
      local r = fn({ mod = true }, args, 1)
      if type(r) == 'function' then return r(v) end
      return r
    end
  else
    error("luassert: unknown register kind '" .. tostring(kind) .. "'", 2)
  end
end

function assert:unregister(kind, name)
  if kind == 'assertion' then assertions[name] = nil
  elseif kind == 'matcher' then matchers[name] = nil
  elseif kind == 'modifier' then modifiers[name] = nil end
end

function assert:format(args)
  local out = { n = args.n or #args }
  for i = 1, out.n do
    out[i] = format_arg(args[i], args.fmtargs and args.fmtargs[i])
  end
  return out
end

function assert:add_formatter(fn) formatters[#formatters + 1] = fn end
function assert:remove_formatter(fn)
  for i = #formatters, 1, -1 do
    if formatters[i] == fn then table.remove(formatters, i) end
  end
end
function assert:set_parameter(name, value) parameters[name] = value end
function assert:get_parameter(name) return parameters[name] end

-- assert:snapshot() records spies and parameters; :revert() restores them.
function assert:snapshot()
  local mark = #active
  local saved = {}
  for k, v in pairs(parameters) do saved[k] = v end
  local nform = #formatters
  return {
    revert = function()
      M.revert_to(mark)
      for k in pairs(parameters) do parameters[k] = nil end
      for k, v in pairs(saved) do parameters[k] = v end
      for i = #formatters, nform + 1, -1 do formatters[i] = nil end
    end,
  }
end

function assert:get_level(level) return level end

M.assert = assert
M.say = say
return M

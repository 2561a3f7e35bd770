-- busted-compatible test DSL and executor for `ljdns test` (API.md §4).
--
-- A spec file is loaded and its chunk run to collect the tree: describe
-- bodies run immediately, `it` registers a test. Then the file's tests run
-- in definition order with their hooks, and each outcome is handed to
-- core.emit (set by Go) as a table {name, file, line, status, message,
-- trace, duration}; status is success, failure, error or pending.
-- guard(fn, handler, ...) is xpcall(fn, handler, ...), compiled by Go under
-- the host prelude's chunk name: the coroutine core.timed runs it in is
-- then seen through as a pcall helper is (coroutine.running, tracebacks).
local luassert, now, guard = ...

local type, pairs, next, select, tostring, error = type, pairs, next, select, tostring, error
local xpcall, rawget, rawset, setmetatable, unpack = xpcall, rawget, rawset, setmetatable, unpack
local getinfo, traceback = debug.getinfo, debug.traceback
local concat, insert = table.concat, table.insert

local core = {
  emit = function() end, -- set by the Go runner
  started = function() end, -- set by the Go runner: a test begins (name, file, line)
  -- set by the Go runner: timed(f, ...) runs f(...) in a coroutine of its own
  -- under the run's timeout; true and f's results, or false and a message
  timed = function(f, ...) return true, f(...) end,
  options = { tags = {}, exclude_tags = {}, filter = {}, filter_out = {}, auto_insulate = true },
  active = false, -- true while a run is in progress (busted.runner() is then a no-op)
}

local current      -- block being collected
local running      -- test being run (finally, pending)
local pending_mt = { __tostring = function(p) return p.message end }

---------------------------------------------------------------------------
-- Locations
---------------------------------------------------------------------------

local internal = luassert.internal

-- caller returns source and line of the first frame outside the runner.
local function caller()
  for level = 2, 60 do
    local info = getinfo(level, 'Sl')
    if not info then break end
    if info.what ~= 'G' and not internal[info.short_src] and (info.currentline or -1) > 0 then
      return info.short_src, info.currentline
    end
  end
  return '?', 0
end

---------------------------------------------------------------------------
-- Insulation: snapshots of _G and package.loaded
---------------------------------------------------------------------------

local function copy(t)
  local c = {}
  for k, v in next, t, nil do c[k] = v end
  return c
end

local function snapshot()
  return { g = copy(_G), loaded = copy(package.loaded) }
end

local function reset(t, saved)
  -- (gopher-lua leaves the control variable of `for k in next, t` unset:
  -- every generic for here spells out the nil)
  local keys = copy(t)
  for k in next, keys, nil do
    if saved[k] == nil then rawset(t, k, nil) end
  end
  for k, v in next, saved, nil do
    if rawget(t, k) ~= v then rawset(t, k, v) end
  end
end

local function difference(t, saved)
  local d = { set = {}, del = {} }
  for k, v in next, t, nil do
    if saved[k] ~= v then d.set[k] = v end
  end
  for k in next, saved, nil do
    if rawget(t, k) == nil then d.del[k] = true end
  end
  return d
end

local function diff(snap)
  return { g = difference(_G, snap.g), loaded = difference(package.loaded, snap.loaded) }
end

local function apply_one(t, d)
  for k in next, d.del, nil do rawset(t, k, nil) end
  for k, v in next, d.set, nil do rawset(t, k, v) end
end

local function apply(d)
  apply_one(_G, d.g)
  apply_one(package.loaded, d.loaded)
end

local function restore(snap)
  reset(_G, snap.g)

  reset(package.loaded, snap.loaded)
end

-- Insulation frames: an insulate block (or an auto-insulated file) pushes
-- one; expose blocks inside record their changes there, and those changes
-- are re-applied after the frame restores its snapshot.
local frames = {}

local function push_frame()
  local f = { snap = snapshot(), exposed = {} }
  frames[#frames + 1] = f
  return f
end

local function pop_frame(f)
  frames[#frames] = nil
  restore(f.snap)
  for _, d in ipairs(f.exposed) do apply(d) end
  local outer = frames[#frames]
  if outer then
    for _, d in ipairs(f.exposed) do outer.exposed[#outer.exposed + 1] = d end
  end
end

---------------------------------------------------------------------------
-- Tree
---------------------------------------------------------------------------

local function new_block(kind, name, parent, file, line)
  return {
    kind = kind, name = name, parent = parent, file = file, line = line, children = {},
    hooks = { lazy_setup = {}, strict_setup = {}, lazy_teardown = {}, strict_teardown = {},
      before_each = {}, after_each = {} },
  }
end

local function full_name(node)
  local parts = {}
  while node do
    if node.name ~= nil and node.kind ~= 'file' then insert(parts, 1, node.name) end
    node = node.parent
  end
  return concat(parts, ' ')
end

-- clean_trace keeps the frames of a traceback that belong to the code
-- under test (not the runner, not the host's pcall wrappers).
local function clean_trace(tb)
  local out = {}
  for line in tb:gmatch('[^\n]+') do
    local frame = line:match('^%s+(.*)$')
    if frame and not (internal[frame:match('^([^:]+):') or ''] or frame:find('^%[[CG]%]: in function \'raw_')
        or frame == '[G]: ?' or frame == '[C]: ?' or frame == '(tailcall): ?' or frame:find("^%[[CG]%]: in function 'error'")) then
      out[#out + 1] = '\t' .. frame
    end
  end
  if #out == 0 then return nil end
  return 'stack traceback:\n' .. concat(out, '\n')
end

local function handler(e)
  if getmetatable(e) == pending_mt or luassert.is_failure(e) then return e end
  local ok, tb = pcall(traceback, '', 2)
  core.last_trace = ok and clean_trace(tb) or nil
  return e
end

-- protected is xpcall(fn, handler, ...) through core.timed: spec code that
-- runs past the timeout (or is interrupted) ends with an error message.
local function protected(fn, ...)
  local done, ok, e = core.timed(guard, fn, handler, ...)
  if not done then return false, ok end
  return ok, e
end

-- pretty renders an error table as busted prints one (penlight's
-- pretty.write): one entry per line, two spaces per level, the array part
-- first, then the other keys in order, strings in double quotes.
local function pretty(v, indent, seen)
  if type(v) == 'string' then return string.format('%q', v) end
  if type(v) ~= 'table' then return tostring(v) end
  if seen[v] then return '<cycle>' end
  if next(v) == nil then return '{}' end
  seen[v] = true
  local inner = indent .. '  '
  local items = {}
  local n = #v
  for i = 1, n do items[#items + 1] = inner .. pretty(v[i], inner, seen) end
  local keys = {}
  for k in next, v, nil do
    if not (type(k) == 'number' and k >= 1 and k <= n and k % 1 == 0) then keys[#keys + 1] = k end
  end
  table.sort(keys, function(a, b)
    if type(a) ~= type(b) then return type(a) < type(b) end
    if type(a) == 'number' or type(a) == 'string' then return a < b end
    return tostring(a) < tostring(b)
  end)
  for _, k in ipairs(keys) do
    local key
    if type(k) == 'string' and k:match('^[%a_][%w_]*$') then key = k
    elseif type(k) == 'string' then key = '[' .. string.format('%q', k) .. ']'
    else key = '[' .. tostring(k) .. ']' end
    items[#items + 1] = inner .. key .. ' = ' .. pretty(v[k], inner, seen)
  end
  seen[v] = nil
  return '{\n' .. concat(items, ',\n') .. '\n' .. indent .. '}'
end

-- message_of is the report text of an error value: strings and values with
-- __tostring as text, tables as pretty prints them, nil as busted says it.
local function message_of(e)
  if type(e) == 'string' then return e end
  if e == nil then return 'Nil error' end
  local mt = getmetatable(e)
  if type(e) == 'table' and not (type(mt) == 'table' and mt.__tostring) then
    local ok, s = pcall(pretty, e, '', {})
    if ok then return s end
  end
  local ok, s = pcall(tostring, e)
  if ok and type(s) == 'string' then return s end
  return '(error object is a ' .. type(e) .. ' value)'
end

local function classify(e)
  if getmetatable(e) == pending_mt then return 'pending', e.message end
  if luassert.is_failure(e) then return 'failure', message_of(e) end
  return 'error', message_of(e)
end

local function collecting(what)
  if not current then error(what .. ' can only be used in a spec file, while collecting tests', 3) end
  if running then error(what .. ' cannot be used inside a running test', 3) end
end

local function block(kind)
  return function(name, fn)
    collecting(kind)
    if type(name) == 'function' and fn == nil then name, fn = '', name end
    local file, line = caller()
    local b = new_block(kind, tostring(name), current, file, line)
    b.insulate = kind == 'insulate'
    b.expose = kind == 'expose'
    current.children[#current.children + 1] = b
    if type(fn) ~= 'function' then
      b.error = kind .. " '" .. tostring(name) .. "' needs a function"
      return
    end
    local frame = b.insulate and push_frame()
    local esnap = b.expose and snapshot()
    local prev = current
    current = b
    local ok, e = protected(fn)
    current = prev
    if frame then
      b.diff = diff(frame.snap)
      pop_frame(frame)
    end
    if esnap then
      local f = frames[#frames]
      if f then f.exposed[#f.exposed + 1] = diff(esnap) end
    end
    if not ok then
      local status, msg = classify(e)
      b.error = msg
      b.error_status = status == 'failure' and 'failure' or 'error'
    end
  end
end

local function add_test(name, fn, is_pending)
  local file, line = caller()
  local t = { kind = 'test', name = tostring(name), fn = fn, parent = current, file = file, line = line,
    pending = is_pending or fn == nil }
  current.children[#current.children + 1] = t
  return t
end

local function it(name, fn)
  collecting('it')
  if fn ~= nil and type(fn) ~= 'function' then
    error("it '" .. tostring(name) .. "' needs a function", 2)
  end
  add_test(name, fn)
end

local function pending(name, fn)
  if running then
    error(setmetatable({ message = tostring(name or 'pending') }, pending_mt), 0)
  end
  collecting('pending')
  add_test(name, fn, true)
end

local function hook(kind)
  return function(fn)
    collecting(kind)
    if type(fn) ~= 'function' then error(kind .. ' needs a function', 2) end
    local list = current.hooks[kind]
    list[#list + 1] = fn
  end
end

local function finally(fn)
  if not running then error('finally can only be used inside a running test', 2) end
  if type(fn) ~= 'function' then error('finally needs a function', 2) end
  running.finally[#running.finally + 1] = fn
end

local dsl = {
  describe = block('describe'),
  context = block('describe'),
  insulate = block('insulate'),
  expose = block('expose'),
  it = it,
  spec = it,
  test = it,
  pending = pending,
  setup = hook('lazy_setup'),
  teardown = hook('lazy_teardown'),
  lazy_setup = hook('lazy_setup'),
  lazy_teardown = hook('lazy_teardown'),
  strict_setup = hook('strict_setup'),
  strict_teardown = hook('strict_teardown'),
  before_each = hook('before_each'),
  after_each = hook('after_each'),
  finally = finally,
  randomize = function() end,
}
core.dsl = dsl

-- core.install sets the DSL and luassert globals (as busted exports them).
function core.install()
  for k, v in pairs(dsl) do rawset(_G, k, v) end
  rawset(_G, 'assert', luassert.assert)
  rawset(_G, 'spy', luassert.spy)
  rawset(_G, 'stub', luassert.stub)
  rawset(_G, 'mock', luassert.mock)
  rawset(_G, 'match', luassert.match)
end

---------------------------------------------------------------------------
-- Selection (tags, filters)
---------------------------------------------------------------------------

local function selected(name)
  local o = core.options
  local tags = {}
  for tag in name:gmatch('#([%w_%-%.]+)') do tags[tag] = true end
  for _, t in ipairs(o.exclude_tags) do
    if tags[t] then return false end
  end
  if #o.tags > 0 then
    local any = false
    for _, t in ipairs(o.tags) do
      if tags[t] then any = true break end
    end
    if not any then return false end
  end
  for _, p in ipairs(o.filter_out) do
    if name:find(p) then return false end
  end
  if #o.filter > 0 then
    for _, p in ipairs(o.filter) do
      if name:find(p) then return true end
    end
    return false
  end
  return true
end

-- count returns the number of selected tests to run below node (pending
-- ones excluded) and the number of tests registered at all.
local function count(node)
  local run, all = 0, 0
  for _, c in ipairs(node.children) do
    if c.kind == 'test' then
      all = all + 1
      if not c.pending and selected(full_name(c)) then run = run + 1 end
    else
      local r, a = count(c)
      run, all = run + r, all + a
    end
  end
  return run, all
end

---------------------------------------------------------------------------
-- Execution
---------------------------------------------------------------------------

local function emit(node, status, message, trace, started, name)
  core.emit({
    name = name or full_name(node),
    short = node.kind == 'test' and node.name or nil,
    file = node.file,
    line = node.line or 0,
    status = status,
    message = message,
    trace = trace,
    duration = started and (now() - started) or 0,
  })
end

local function call(fn, ...)
  core.last_trace = nil
  luassert.reset_failure()
  local ok, e = protected(fn, ...)
  if ok then return true end
  local status, msg = classify(e)
  return false, status, msg, core.last_trace
end

-- fail_all reports every selected test below node with one status.
local function fail_all(node, status, message)
  for _, c in ipairs(node.children) do
    if c.kind == 'test' then
      local name = full_name(c)
      if selected(name) then
        if c.pending then emit(c, 'pending', '') else emit(c, status, message) end
      end
    else
      fail_all(c, status, message)
    end
  end
end

local function chain(node)
  local list = {}
  local b = node.parent
  while b do
    insert(list, 1, b)
    b = b.parent
  end
  return list
end

-- note records the first problem of a test in r. (Kept in a table, not in
-- upvalues: gopher-lua may close a running function's upvalues early when
-- an error unwinds through deeper frames.)
local function note(r, ok, st, msg, tr)
  if not ok and r.status == 'success' then r.status, r.message, r.trace = st, msg, tr end
end

local function run_test(t)
  local name = full_name(t)
  if not selected(name) then return end
  if t.pending then
    emit(t, 'pending', t.fn == nil and '' or 'pending')
    return
  end
  if core.list then
    emit(t, 'success')
    return
  end
  core.started(name, t.file, t.line)
  local started = now()
  local mark = luassert.mark()
  local r = { status = 'success' }
  t.finally = {}
  running = t
  local blocks, entered = chain(t), {}
  for _, b in ipairs(blocks) do
    entered[#entered + 1] = b
    for _, h in ipairs(b.hooks.before_each) do
      note(r, call(h))
      if r.status ~= 'success' then break end
    end
    if r.status ~= 'success' then break end
  end
  if r.status == 'success' then note(r, call(t.fn)) end
  for _, f in ipairs(t.finally) do note(r, call(f)) end
  for i = #entered, 1, -1 do
    for _, h in ipairs(entered[i].hooks.after_each) do note(r, call(h)) end
  end
  running = nil
  luassert.revert_to(mark)
  if r.status == 'success' then r.message = nil end
  emit(t, r.status, r.message, r.trace, started)
end

local run_block

local function run_children(b)
  for _, c in ipairs(b.children) do
    if c.kind == 'test' then run_test(c) else run_block(c) end
  end
end

function run_block(b)
  local torun, all = count(b)
  if b.error then
    -- the body raised while collecting: report it, then run what was collected
    emit(b, b.error_status or 'error', b.error, nil, nil,
      (b.kind == 'file' and b.file) or (full_name(b) ~= '' and full_name(b)) or b.file)
  end
  if all == 0 and b.kind ~= 'file' then return end
  local frame
  if b.insulate then
    frame = push_frame()
    if b.diff then apply(b.diff) end
  end
  local before = b.expose and snapshot()
  local mark = luassert.mark()
  local setup_ok = true
  local function hooks(kind)
    if core.list then return true end
    for _, h in ipairs(b.hooks[kind]) do
      local ok, status, msg = call(h)
      if not ok then return false, status, msg end
    end
    return true
  end
  local ok, status, msg = hooks('strict_setup')
  if not ok then
    fail_all(b, 'error', 'strict_setup failed: ' .. tostring(msg))
    setup_ok = false
  end
  local lazy = setup_ok and torun > 0
  if lazy then
    ok, status, msg = hooks('lazy_setup')
    if not ok then
      fail_all(b, 'error', 'setup failed: ' .. tostring(msg))
      setup_ok = false
    end
  end
  if setup_ok then run_children(b) end
  local tname = full_name(b)
  if tname == '' then tname = b.file end
  if lazy then
    ok, status, msg = hooks('lazy_teardown')
    if not ok then emit(b, 'error', 'teardown failed: ' .. tostring(msg), nil, nil, tname .. ' teardown') end
  end
  ok, status, msg = hooks('strict_teardown')
  if not ok then emit(b, 'error', 'strict_teardown failed: ' .. tostring(msg), nil, nil, tname .. ' teardown') end
  luassert.revert_to(mark)
  if before then
    local d = diff(before)
    local f = frames[#frames]
    if f then f.exposed[#f.exposed + 1] = d end
  end
  if frame then pop_frame(frame) end
end

-- core.run_file loads, collects and runs one spec file.
function core.run_file(path)
  local started = now()
  local fileblock = new_block('file', nil, nil, path, 0)
  local frame = core.options.auto_insulate and push_frame()
  local chunk, err = loadfile(path)
  if not chunk then
    emit(fileblock, 'error', 'cannot load spec file: ' .. tostring(err), nil, started, path)
    if frame then pop_frame(frame) end
    return
  end
  current = fileblock
  local ok, e, tr
  core.last_trace = nil
  luassert.reset_failure()
  ok, e = protected(chunk)
  tr = core.last_trace
  current = nil
  if not ok then
    local status, msg = classify(e)
    emit(fileblock, 'error', 'spec file raised an error while loading: ' .. tostring(msg), tr, started, path)
  else
    local _, all = count(fileblock)
    local errors = false
    local function scan(b)
      if b.error then errors = true end
      for _, c in ipairs(b.children) do if c.kind ~= 'test' then scan(c) end end
    end
    scan(fileblock)
    if all == 0 and not errors then
      emit(fileblock, 'error', 'no tests found in ' .. path .. ' (a spec file must define at least one it)',
        nil, started, path)
    else
      run_block(fileblock)
    end
  end
  if frame then pop_frame(frame) end
end

-- core.run_helper runs the helper file in the global environment.
function core.run_helper(path)
  local started = now()
  local node = { file = path, line = 0 }
  local chunk, err = loadfile(path)
  if not chunk then
    emit(node, 'error', 'cannot load helper: ' .. tostring(err), nil, started, 'helper ' .. path)
    return false
  end
  core.last_trace = nil
  local ok, e = protected(chunk)
  if not ok then
    emit(node, 'error', 'helper raised an error: ' .. message_of(e), core.last_trace, started, 'helper ' .. path)
    return false
  end
  return true
end

-- core.report_error reports an error that is not tied to a test (a missing
-- root, no spec files found).
function core.report_error(name, file, message)
  emit({ file = file, line = 0 }, 'error', message, nil, nil, name)
end

core.selected = selected
return core

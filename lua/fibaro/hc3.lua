-- fibaro/hc3.lua: the link to a real Home Center 3 (online and proxy modes,
-- and the -t tools). The box is HC3_URL, HC3_USER, HC3_PASSWORD and HC3_PIN
-- as os.getenv sees them (the environment, then the QuickApp directory's
-- .env, ./.env, ~/.env).
--
-- Every call is asynchronous: the calling coroutine (a QuickApp's task, a
-- timer callback, a REST hook: plua runs each in one) waits and resumes
-- when the box answers; the main loop, timers and other QuickApps go on.
-- Connections are kept alive by plua's one HTTP session.

local M = {}

M.timeout = 30000      -- ms, one call
M.pollWait = 20        -- s, how long the box may hold an event poll

-- Reads the credentials; returns true when a box is configured.
function M.configure(qadir)
  if qadir then _PY.reloadEnv(qadir) end
  local url = os.getenv("HC3_URL")
  if url == nil or url == "" then
    M.url = nil
    return false
  end
  url = url:gsub("/+$", "")
  if not url:match("^https?://") then url = "http://" .. url end
  M.url = url
  M.user = os.getenv("HC3_USER") or "admin"
  M.password = os.getenv("HC3_PASSWORD") or ""
  M.pin = os.getenv("HC3_PIN")
  M.authorization = "Basic " .. _PY.base64_encode(M.user .. ":" .. M.password)
  return true
end

-- Runs start(done) and waits for done(...) in the calling coroutine; done
-- may come at once or later.
local function await(what, start)
  local co, main = coroutine.running()
  if main or not coroutine.isyieldable() then
    error(what .. ": cannot wait for the HC3 outside a coroutine", 3)
  end
  local result, waiting
  start(function(...)
    if waiting then
      waiting = false
      local ok, e = coroutine.resume(co, ...)
      if not ok then io.stderr:write("plua fibaro: ", tostring(e), "\n") end
    else
      result = table.pack(...)
    end
  end)
  if result then return table.unpack(result, 1, result.n) end
  waiting = true
  return coroutine.yield()
end
M.await = await

local client
local function http()
  client = client or net.HTTPClient({ timeout = M.timeout })
  return client
end

-- The box's answer body: JSON decoded, other text as it came, nil if empty.
local function decode(text)
  if text == nil or text == "" then return nil end
  local ok, v = pcall(json.decode, text)
  if ok then return v end
  return text
end
M.decode = decode

-- What the box said, for error messages: its message field or its text.
function M.said(data)
  if type(data) == "table" then
    return tostring(data.message or data.reason or data.error or json.encode(data))
  end
  return tostring(data or "")
end

-- Low level: method, path ("/api/..."), body (Lua value or text) →
-- data, status, headers; nil, nil, message on a transport failure.
function M.raw(method, path, body, opts)
  if not M.url then return nil, nil, "no HC3 configured (HC3_URL)" end
  opts = opts or {}
  local headers = { Authorization = M.authorization, Accept = "application/json",
    ["X-Fibaro-Version"] = "2" }
  if opts.restricted then
    if not M.pin or M.pin == "" then return nil, nil, "HC3_PIN is not set (restricted call)" end
    headers["Fibaro-User-PIN"] = M.pin
  end
  local data = body
  if type(body) == "table" then data = json.encode(body) end
  if data ~= nil then headers["Content-Type"] = opts.contentType or "application/json" end
  return await("HC3 " .. method, function(done)
    http():request(M.url .. path, {
      options = { method = method, headers = headers, data = data, timeout = opts.timeout or M.timeout },
      success = function(r) done(opts.text and r.data or decode(r.data), r.status, r.headers) end,
      error = function(e) done(nil, nil, e) end,
    })
  end)
end

-- A call for QuickApp code: data, status as the box sends them; a socket
-- failure raises "HC3 at URL: message" at the caller's line.
function M.call(method, path, body, opts)
  if not path:match("^/api/") then path = "/api" .. (path:sub(1, 1) == "/" and "" or "/") .. path end
  local data, status, e = M.raw(method, path, body, opts)
  if status == nil then error("HC3 at " .. tostring(M.url) .. ": " .. tostring(e), opts and opts.level or 3) end
  return data, status
end

-- The start-up check: nil when the box answers with our credentials, else
-- the message to stop with (unreachable, 401, 403, not an HC3).
function M.check()
  local data, status, e = M.raw("GET", "/api/settings/info", nil, { timeout = 10000 })
  if status == nil then
    return string.format("HC3 at %s cannot be reached: %s", M.url, e)
  elseif status == 401 then
    return string.format("HC3 at %s refused user '%s': wrong user or password", M.url, M.user)
  elseif status == 403 then
    return string.format("HC3 at %s refused user '%s' access (403): %s", M.url, M.user, M.said(data))
  elseif status ~= 200 or type(data) ~= "table" then
    return string.format("HC3 at %s answered %s to /api/settings/info: %s", M.url, tostring(status), M.said(data))
  end
  M.info = data
  return nil
end

------------------------------------------------------------------ event poll

-- Long-polls the box's /api/refreshStates and hands each event to
-- onEvent(event). A failure is reported once, then retried with a back-off
-- (1 s doubling to 30 s); coming back is reported too. Runs until M.stopPoll().
local polling
function M.startPoll(onEvent)
  if polling then return end
  polling = { last = 0 }
  local state = polling
  local delay, failing = 1, false
  local function round()
    if polling ~= state then return end
    -- after a failure, one quick round first: a box that restarted counts
    -- from 0 again and would hold a long poll until it passes our count
    local wait = failing and 0 or M.pollWait
    local data, status, e = M.raw("GET", "/api/refreshStates?last=" .. state.last
      .. "&lang=en&wait=" .. wait, nil, { timeout = (wait + 10) * 1000 })
    if polling ~= state then return end
    if status == 200 and type(data) == "table" then
      if failing then
        io.stderr:write(string.format("plua fibaro: HC3 at %s is back: event poll reconnected\n", M.url))
        failing = false
      end
      delay = 1
      local last = tonumber(data.last) or state.last
      -- a restarted box counts from 0 again
      if last < state.last then state.last = 0 end
      if state.last > 0 then
        for _, ev in ipairs(data.events or {}) do
          local ok, err = pcall(onEvent, ev)
          if not ok then io.stderr:write("plua fibaro: HC3 event: ", tostring(err), "\n") end
        end
      end
      state.last = last
      setTimeout(round, 0)
    else
      if not failing then
        io.stderr:write(string.format("plua fibaro: HC3 at %s event poll failed: %s; retrying with back-off\n",
          M.url, status and ("HTTP " .. status .. " " .. M.said(data)) or tostring(e)))
        failing = true
      end
      setTimeout(round, delay * 1000)
      delay = math.min(delay * 2, 30)
    end
  end
  setTimeout(round, 0)
end

function M.stopPoll() polling = nil end

return M

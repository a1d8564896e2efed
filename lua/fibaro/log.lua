-- fibaro/log.lua: the HC3 console line.
--   [25.11.2026] [09:05:12] [DEBUG] [QUICKAPP5000]: message
-- The level is wrapped in a <font> tag: print renders it as a colour on a
-- terminal and drops it in a pipe, so piped output is exactly the HC3 text.

local M = {}

local COLOURS = { DEBUG = "lightgreen", TRACE = "lightblue", WARNING = "orange", ERROR = "red" }

-- Set by the store: seconds (emulated clock) and where lines are kept for
-- /api/debugMessages.
M.clock = os.time
M.sink = nil

-- Arguments joined with spaces after tostring, as fibaro.debug does.
function M.join(...)
  local n = select("#", ...)
  if n == 1 then return tostring((...)) end
  local parts = {}
  for i = 1, n do parts[i] = tostring((select(i, ...))) end
  return table.concat(parts, " ")
end

function M.line(level, tag, message)
  local t = M.clock()
  print(string.format("[%s] [%s] [<font color=%s>%s</font>] [%s]: %s",
    os.date("%d.%m.%Y", t), os.date("%H:%M:%S", t), COLOURS[level] or "white",
    level, tostring(tag), message))
  if M.sink then M.sink(level, tag, message, t) end
end

-- An uncaught error of QuickApp (or scene) code, logged as the box logs it:
-- the run goes on, but its exit status becomes 1, a summary line ends it,
-- and --fail-fast ends it at once (plua-runtime.c counts).
function M.fail(tag, message)
  M.line("ERROR", tag, message)
  if _PY.app_error then _PY.app_error() end
end

function M.log(level, tag, ...)
  M.line(level, tag, M.join(...))
end

-- The emulator's own diagnostics (directive warnings ...): stderr, so a
-- QuickApp's console output stays what the box would show.
function M.warn(fmt, ...)
  io.stderr:write("plua fibaro: ", string.format(fmt, ...), "\n")
end

return M

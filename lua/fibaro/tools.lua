-- fibaro/tools.lua: `plua -t NAME ARGS...` and `plua --init-qa [TYPE] [DIR]`,
-- the tools VS Code tasks and scripts call. The names are the original
-- plua's, so existing tasks keep working. A tool prints what it did on
-- stdout; an error is one line on stderr and exit status 1.

local T = { list = {} }

local function usage(message)
  io.stderr:write("plua: ", message, "\n")
  os.exit(2)
end
T.usage = usage

function T.fail(message)
  io.stderr:write("plua: ", message, "\n")
  os.exit(1)
end

-- name, usage line, summary, function(args)
function T.add(name, synopsis, summary, fn)
  T.list[#T.list + 1] = { name = name, synopsis = synopsis, summary = summary }
  T[name] = fn
end

T.add("help", "help", "list the tools (--init-qa is plua --init-qa)", function()
  print("plua tools (plua -t NAME ARGS...):")
  for _, t in ipairs(T.list) do
    print(string.format("  %-40s %s", t.synopsis, t.summary))
  end
  print("The box is HC3_URL, HC3_USER, HC3_PASSWORD (environment, the project's .env, ./.env, ~/.env).")
end)

require("fibaro.qatools").register(T)
require("fibaro.templates").register(T)

function T.main()
  local rc = _PY.config.runtime_config
  local name, args = rc.tool, rc.tool_args or {}
  local fn = T[name]
  if type(fn) ~= "function" or name == "main" or name == "add" or name == "fail" or name == "usage" then
    usage("unknown tool '" .. tostring(name) .. "' (plua -t help lists them)")
  end
  local ok, e = pcall(fn, args)
  if not ok then T.fail(tostring(e)) end
end

return T

-- fibaro/scene.lua: HC3 Lua scenes. A scene of type "lua" keeps its code in
-- `content`, a JSON string {"conditions": "<Lua table text>", "actions":
-- "<Lua code>"} as the box stores it. Executing it runs the actions in an
-- environment of their own (fibaro, api, json, net, timers, sourceTrigger;
-- log lines tagged SCENE<id>); kill stops an instance: its timers are
-- cleared and a coroutine sleeping in it ends when it wakes. Conditions and
-- automatic triggers are not evaluated (README).

local S = require("fibaro.store")
local log = require("fibaro.log")
local qajson = require("fibaro.json")

local M = {}
local array = json.array

-- The fields of a new scene, as GET /api/scenes/{id} shows them on the box.
function M.defaults()
  return { name = "Scene", type = "lua", mode = "manual", maxRunningInstances = 2,
    icon = "scene_icon", hidden = false, protectedByPin = false, stopOnAlarm = false,
    enabled = true, restart = true, categories = array(), content = "", roomId = 219,
    isRunning = false }
end

-- Running instances per scene id.
local running = {}

-- The actions code of a scene, or nil and why not.
function M.actions(scene)
  if scene.type ~= "lua" then return nil, "only Lua scenes run (type is " .. tostring(scene.type) .. ")" end
  local c = scene.content
  if type(c) == "string" then
    if c == "" then return nil, "the scene has no content" end
    local ok, v = pcall(json.decode, c)
    if not ok or type(v) ~= "table" then return nil, "content is not JSON {\"conditions\", \"actions\"}" end
    c = v
  end
  if type(c) ~= "table" or type(c.actions) ~= "string" then
    return nil, "content has no \"actions\" string"
  end
  return c.actions
end

local function setRunning(id)
  local scene = S.scenes[id]
  local n = running[id] and #running[id] or 0
  if scene and scene.isRunning ~= (n > 0) then
    scene.isRunning = n > 0
    S.dirty()
  end
end

-- An instance ends when its actions returned and no timer of it is left
-- (or at once when killed).
local function finish(inst)
  if inst.finished then return end
  inst.finished = true
  local list = running[inst.id] or {}
  for i, x in ipairs(list) do if x == inst then table.remove(list, i) break end end
  if #list == 0 then running[inst.id] = nil end
  setRunning(inst.id)
  S.emit("SceneFinishedEvent", { id = inst.id })
end

local function check(inst)
  if inst.killed or (inst.mainDone and next(inst.timers) == nil) then finish(inst) end
end

-- Runs scene code; errors are logged on the scene's console unless the
-- instance was killed (a killed coroutine ends with an error on waking).
local function guarded(inst, fn, handler, ...)
  local ok, e = xpcall(fn, tostring, ...)
  if not ok and not inst.killed then
    if handler then return guarded(inst, handler, nil, e) end
    log.fail(inst.tag, e)
  end
end

local function addTimer(inst, interval, fn, ms, handler)
  if type(fn) ~= "function" then error("bad argument to setTimeout (function expected)", 3) end
  local ref
  ref = (interval and setInterval or setTimeout)(function()
    if not interval then inst.timers[ref] = nil end
    if inst.killed then return end
    guarded(inst, fn, handler)
    check(inst)
  end, ms)
  inst.timers[ref] = true
  return ref
end

-- The scene's globals: the QuickApp SDK's fibaro/api/net/os/print, without
-- the QuickApp classes, with the scene's own timers, sleep and json.
local function newEnv(inst)
  local sdk = require("fibaro.sdk")
  local rec = { id = inst.id }
  local env = sdk.newEnv(rec)
  env.__TAG = inst.tag
  for _, k in ipairs({ "QuickApp", "QuickAppBase", "QuickAppChild", "quickApp", "plugin" }) do
    rawset(env, k, nil)
  end
  env.json = qajson.new()
  env.sourceTrigger = inst.trigger
  local function killable(ms)
    sleep(ms)
    if inst.killed then error("scene " .. inst.id .. " killed", 0) end
  end
  local function clear(ref)
    if ref ~= nil then inst.timers[ref] = nil; clearTimeout(ref) end
    check(inst)
  end
  env.sleep = killable
  env.setTimeout = function(fn, ms) return addTimer(inst, false, fn, ms) end
  env.setInterval = function(fn, ms) return addTimer(inst, true, fn, ms) end
  env.clearTimeout, env.clearInterval = clear, clear
  local fibaro = env.fibaro
  fibaro.sleep = killable
  fibaro.setTimeout = function(ms, fn, handler) return addTimer(inst, false, fn, ms, handler) end
  fibaro.setInterval = function(ms, fn) return addTimer(inst, true, fn, ms) end
  fibaro.clearTimeout, fibaro.clearInterval = clear, clear
  return env
end

-- Starts an instance of scene `id` on the next loop turn. trigger: the
-- sourceTrigger table. Returns the instance, or nil and a message.
function M.execute(id, trigger)
  local scene = S.scenes[id]
  if not scene then return nil, "scene " .. tostring(id) .. " not found" end
  local tag = "SCENE" .. id
  local code, why = M.actions(scene)
  if not code then
    -- a scene without code (a block scene, or one made empty over REST)
    -- only reports that it ran; malformed content is worth a warning
    if scene.content ~= "" and scene.type == "lua" then log.line("WARNING", tag, "not run: " .. why) end
    S.emit("SceneStartedEvent", { id = id })
    S.emit("SceneFinishedEvent", { id = id })
    return nil, why
  end
  local list = running[id] or {}
  local max = tonumber(scene.maxRunningInstances) or 2
  if #list >= max then
    log.line("WARNING", tag, "not run: " .. #list .. " instance(s) running, maxRunningInstances is " .. max)
    return nil, "too many instances"
  end
  local inst = { id = id, tag = tag, timers = {}, trigger = trigger or { type = "user", property = "execute", id = 2 } }
  list[#list + 1] = inst
  running[id] = list
  setRunning(id)
  S.emit("SceneStartedEvent", { id = id })
  require("fibaro.sdk").post(function()
    local chunk, err = load(code, "=" .. tag, "t", newEnv(inst))
    if not chunk then log.fail(tag, err)
    else guarded(inst, chunk) end
    inst.mainDone = true
    check(inst)
  end)
  return inst
end

-- Stops every running instance of scene `id`.
function M.kill(id)
  for _, inst in ipairs(running[id] or {}) do
    inst.killed = true
    for ref in pairs(inst.timers) do clearTimeout(ref) end
    inst.timers = {}
  end
  for _, inst in ipairs(running[id] and { table.unpack(running[id]) } or {}) do finish(inst) end
end

function M.isRunning(id) return running[id] ~= nil end

return M

-- fibaro/rest/util.lua: what the handlers of the emulated HC3 REST API
-- (fibaro/rest.lua, fibaro/rest/*.lua) share: error answers and number
-- parsing.

local U = {}

local REASONS = { [400] = "Bad request", [403] = "Forbidden", [404] = "Not found",
  [405] = "Method not allowed", [409] = "Conflict", [501] = "Not implemented", [502] = "Bad gateway" }

local function err(status, message)
  return { type = "ERROR", reason = REASONS[status] or "Error", message = message }, status
end

local function num(s) return tonumber(s) and math.tointeger(tonumber(s)) end

U.err, U.num = err, num
U.array = json.array

return U

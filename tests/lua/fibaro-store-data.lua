-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end"
-- env: TZ=UTC
-- no-stderr
-- The offline HC3's data resources through api.*, with the box's status
-- codes (201 on create, 404 for a missing id, 400 for a bad body, 409 for a
-- duplicate) and the refreshStates events of each change: globalVariables,
-- customEvents, rooms, sections, scenes (list/get), users, profiles.
--%%name:StoreData
--%%id:7060

local function st(_, status) return status end

local function eventsSince(last)
  local out = {}
  for _, e in ipairs(api.get("/refreshStates?last=" .. last .. "&wait=0").events) do
    local d = e.data
    out[#out + 1] = e.type .. "(" .. tostring(d.variableName or d.name or d.newActiveProfile or d.id)
      .. (d.newValue ~= nil and ("=" .. json.encode(d.newValue)) or "") .. ")"
  end
  return table.concat(out, " ")
end

function QuickApp:onInit()
  -- globalVariables
  local last = api.get("/refreshStates").last
  local v, s = api.post("/globalVariables", { name = "Light", value = "on" })
  print("gv create", s, v.name, v.value, v.readOnly, v.isEnum, json.encode(v.enumValues), math.type(v.created))
  v, s = api.post("/globalVariables", { name = "Num", value = 12 })
  print("gv number value is text", s, v.value, math.type(v.value))
  print("gv duplicate", st(api.post("/globalVariables", { name = "Light", value = "x" })))
  print("gv no name", st(api.post("/globalVariables", { value = "x" })), st(api.post("/globalVariables", "text")))
  local list = api.get("/globalVariables")
  print("gv list", #list, list[1].name, list[2].name)
  v, s = api.get("/globalVariables/Light")
  print("gv get", s, v.name, v.value)
  v, s = api.put("/globalVariables/Light", { value = "off" })
  print("gv put", s, v.value, (fibaro.getGlobalVariable("Light")))
  print("gv put no value", st(api.put("/globalVariables/Light", { name = "Light" })))
  print("gv put missing", st(api.put("/globalVariables/Nope", { value = "1" })))
  print("gv delete", st(api.delete("/globalVariables/Num")), st(api.get("/globalVariables/Num")),
    st(api.delete("/globalVariables/Num")))
  print("gv events", eventsSince(last))
  v, s = api.post("/globalVariables", { name = "Enum", value = "a", isEnum = true, enumValues = { "a", "b" } })
  print("gv enum", s, v.isEnum, json.encode(v.enumValues))

  -- customEvents
  last = api.get("/refreshStates").last
  local ce
  ce, s = api.post("/customEvents", { name = "Ring", userDescription = "door" })
  print("ce create", s, ce.name, ce.userDescription)
  print("ce duplicate", st(api.post("/customEvents", { name = "Ring" })), "no name", st(api.post("/customEvents", {})))
  print("ce list", #api.get("/customEvents"), "get", api.get("/customEvents/Ring").userDescription,
    st(api.get("/customEvents/None")))
  ce, s = api.put("/customEvents/Ring", { userDescription = "front door" })
  print("ce put", s, ce.userDescription, st(api.put("/customEvents/None", {})))
  print("ce emit", st(api.post("/customEvents/Ring")), st(api.post("/customEvents/None")))
  print("ce events", eventsSince(last))
  print("ce delete", st(api.delete("/customEvents/Ring")), st(api.get("/customEvents/Ring")))

  -- sections and rooms
  local sec
  sec, s = api.post("/sections", { name = "Ground floor" })
  print("section create", s, sec.id, sec.name)
  print("sections", #api.get("/sections"), api.get("/sections/219").name, st(api.get("/sections/999")))
  sec, s = api.put("/sections/" .. sec.id, { name = "Ground" })
  print("section put", s, sec.name, st(api.put("/sections/" .. sec.id, "x")))
  local room
  room, s = api.post("/rooms", { name = "Hall", sectionID = sec.id })
  print("room create", s, room.id, room.name, room.sectionID, room.visible, room.category)
  print("rooms", #api.get("/rooms"), api.get("/rooms/219").name, api.get("/rooms/219").isDefault)
  room, s = api.put("/rooms/" .. room.id, { name = "Hallway" })
  print("room put", s, room.name, fibaro.getRoomName(room.id))
  print("room bad", st(api.get("/rooms/abc")), st(api.post("/rooms", "x")), st(api.get("/rooms/999")))
  print("room delete", st(api.delete("/rooms/" .. room.id)), st(api.get("/rooms/" .. room.id)),
    st(api.delete("/rooms/" .. room.id)))
  print("section delete", st(api.delete("/sections/" .. sec.id)), st(api.get("/sections/" .. sec.id)))

  -- scenes: list and get (running them is tested elsewhere)
  local sc
  sc, s = api.post("/scenes", { name = "Evening", type = "lua" })
  print("scene create", s, sc.id, sc.name, sc.type, sc.enabled)
  print("scenes", #api.get("/scenes"), api.get("/scenes/" .. sc.id).name, st(api.get("/scenes/999")))
  print("scene put", st(api.put("/scenes/" .. sc.id, { name = "Night" })), api.get("/scenes/" .. sc.id).name)
  print("scene bad", st(api.post("/scenes", "x")), st(api.get("/scenes/x")))
  print("scene delete", st(api.delete("/scenes/" .. sc.id)), st(api.get("/scenes/" .. sc.id)))

  -- users
  local users = api.get("/users")
  print("users", #users, users[1].id, users[1].name, users[1].type)
  local u
  u, s = api.post("/users", { name = "guest", email = "guest@localhost" })
  print("user create", s, u.name, u.type, api.get("/users/" .. u.id).email)
  print("user 404", st(api.get("/users/999")), "delete", st(api.delete("/users/" .. u.id)))

  -- profiles
  local P = api.get("/profiles")
  local names = {}
  for _, p in ipairs(P.profiles) do names[#names + 1] = p.id .. ":" .. p.name end
  print("profiles", P.activeProfile, table.concat(names, " "))
  print("profile", api.get("/profiles/2").name, st(api.get("/profiles/9")))
  last = api.get("/refreshStates").last
  print("activate", st(api.post("/profiles/activeProfile/3")), api.get("/profiles").activeProfile)
  print("activate missing", st(api.post("/profiles/activeProfile/9")))
  print("put activeProfile", api.put("/profiles", { activeProfile = 1 }).activeProfile,
    st(api.put("/profiles", { activeProfile = 9 })))
  print("profile events", eventsSince(last))
end

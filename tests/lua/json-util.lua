-- no-stderr
-- json.util, as QuickApps have it, in a plain script too (code shared
-- between a QuickApp and a script): InitArray marks a table to encode as an
-- array even when empty and returns it; util.null is json.null.
local t = json.util.InitArray({})
print(json.encode(t), json.encode({ list = json.util.InitArray({}), n = json.util.null }))
print(json.util.InitArray(t) == t, json.util.null == json.null)
print(pcall(json.util.InitArray, "x"))

-- print works as in standard Lua: tostring on each argument, tabs, newline.
print(1, 2.5, "s", nil, true, false)
print()
print(setmetatable({}, { __tostring = function() return "custom" end }))
print(math.maxinteger, 1e100, -0.0)
print("embedded\0nul")
io.write("io.write goes to stdout too\n")

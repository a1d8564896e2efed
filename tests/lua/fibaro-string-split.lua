-- args: --fibaro -e "require('fibaro.log').clock = function() return 1767268800 end"
-- env: TZ=UTC
-- no-stderr
-- string.split, the convenience QuickApps written for the other emulators
-- use: the separator is a set of characters (white space by default), empty
-- pieces are left out; it works as s:split(sep) too, and magic characters
-- in the separator are plain.
--%%name:Split
--%%id:7320
local function show(list) return #list .. ":" .. table.concat(list, "|") end
function QuickApp:onInit()
  print(show(string.split("a,b,,c", ",")))
  print(show(("  one two\tthree\n"):split()))
  print(show(("k=v;x=y"):split(";=")))
  print(show(("1.2.3"):split(".")))
  print(show(("a%b]c^d-e"):split("%]^-")))
  print(show(string.split("", ",")))
  print(pcall(string.split, nil, ","))
end

-- script-args: one "two words" -x --debug
-- arg and ... as the lua interpreter sets them; options after the script are the script's.
print(#arg, arg[1], arg[2], arg[3], arg[4])
print(arg[0]:match("[^/]+$"))
print(arg[-1] ~= nil)
print(select("#", ...), ...)

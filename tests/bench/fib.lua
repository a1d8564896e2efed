-- fib.lua: naive recursive Fibonacci, the same file for plua and lua5.4.
--   plua fib.lua [n] / lua5.4 fib.lua [n]   (default n = 32, prints 2178309)
local n = math.tointeger(tonumber(arg and arg[1])) or 32

local function fib(k)
  if k < 2 then
    return k
  end
  return fib(k - 1) + fib(k - 2)
end

print(fib(n))

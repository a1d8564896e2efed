-- os.getenv reads ./.env, once at start and again on _PY.reloadEnv().
-- Assumes run-lua-test.py starts plua in a fresh, empty temporary directory
-- (so writing ./.env here touches nothing else) with HOME = the test home.

local function write_env(text)
  local f = assert(io.open(".env", "w"))
  f:write(text)
  f:close()
end

write_env([[
# written by the test
PLUA_TEST_KEY = "hello world"
export PLUA_TEST_EXPORTED='exported'
PLUA_TEST_PATH=from-dotenv
not a pair
]])

-- The file did not exist at start, so it is not seen before a reload.
print(os.getenv("PLUA_TEST_KEY"))
print(_PY.reloadEnv())
print(os.getenv("PLUA_TEST_KEY"))
print(os.getenv("PLUA_TEST_EXPORTED"))
print(os.getenv("NOPE", "dflt"))
print(os.getenv("NOPE"))
print(os.getenv("NOPE", 42))

-- A .env value beats the process environment; _PY.getenv sees only the latter.
print(os.getenv("HOME") ~= nil, os.getenv("PLUA_TEST_PATH"))
print(_PY.getenv("PLUA_TEST_PATH"), _PY.getenv("PLUA_TEST_PATH", "none"))

-- The name must be a string (the exact message depends on how Lua names the caller).
local ok, err = pcall(os.getenv)
print(ok, err:match("bad argument #1 to '[%w.]*getenv' %(string expected, got no value%)") ~= nil)

os.remove(".env")
_PY.reloadEnv()
print(os.getenv("PLUA_TEST_KEY", "gone"))

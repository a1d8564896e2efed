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
HOME=/not/the/home
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

-- The process environment beats a .env value; _PY.getenv sees only the former.
print(os.getenv("HOME") == _PY.getenv("HOME"), os.getenv("PLUA_TEST_PATH"))
print(_PY.getenv("PLUA_TEST_PATH"), _PY.getenv("PLUA_TEST_PATH", "none"))

-- The name must be a string (the exact message depends on how Lua names the caller).
local ok, err = pcall(os.getenv)
print(ok, err:match("bad argument #1 to '[%w.]*getenv' %(string expected, got no value%)") ~= nil)

-- _PY.reloadEnv(dir): <dir>/.env comes before ./.env (the QuickApp's directory).
os.execute("mkdir -p qa")
local f = assert(io.open("qa/.env", "w"))
f:write("PLUA_TEST_KEY=from qa dir\n")
f:close()
_PY.reloadEnv("qa")
print(os.getenv("PLUA_TEST_KEY"), os.getenv("PLUA_TEST_EXPORTED"))
os.remove("qa/.env")
os.remove("qa")

os.remove(".env")
_PY.reloadEnv(nil)
print(os.getenv("PLUA_TEST_KEY", "gone"))

-- sleep where it cannot yield (inside a C call boundary) is a clear error.
local ok, err = pcall(table.sort, {3, 2, 1}, function(a, b) sleep(1) return a < b end)
print(ok, err:match("cannot sleep") ~= nil or err:match("yield") ~= nil)

-- A non-number delay or a missing function is an error at the call.
print(pcall(setTimeout, function() end, "100"))
print(pcall(setInterval, function() end, {}))
print(pcall(setTimeout, nil, 10))
print(pcall(setTimeout, function() print("no delay means 0") end))

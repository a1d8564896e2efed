-- max-seconds: 3
-- A script that replaces _PY altogether does not bring plua down.
_PY = nil
setTimeout(function() print("fine") end, 10)

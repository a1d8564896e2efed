-- args: -e "greeting = 'from fragment'" -e "_PY.main_file_hook = (function(orig) return function(f) print('hook sees', f:match('[^/]+$')) return orig(f) end end)(_PY.main_file_hook)"
-- Fragments run before the script; a fragment may replace _PY.main_file_hook.
print("script sees", greeting)

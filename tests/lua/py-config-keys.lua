-- no-stderr
-- _PY.config carries the original plua's later key names too: fileSeparator,
-- pathSeparator, isWindows/isLinux/isMacOS and offline (true: a plain script
-- reaches no HC3), beside the older lower-case ones.
local c = _PY.config
print(c.fileSeparator, c.pathSeparator, c.fileSeparator == c.fileseparator, c.pathSeparator == c.pathseparator)
print(c.isWindows, c.isLinux, c.isMacOS, c.offline)

-- socket.lua: placeholder for the LuaSocket-compatible blocking `socket` module.
return {}

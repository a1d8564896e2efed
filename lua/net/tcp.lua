-- lua/net/tcp.lua: placeholder, replaced by the net module work.
return {}

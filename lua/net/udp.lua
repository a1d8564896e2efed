-- lua/net/udp.lua: placeholder, replaced by the net module work.
return {}

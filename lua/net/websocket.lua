-- lua/net/websocket.lua: placeholder, replaced by the net module work.
return {}

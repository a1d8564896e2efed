-- lua/net/http.lua: placeholder, replaced by the net module work.
return {}

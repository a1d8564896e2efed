-- lua/net/mqtt.lua: net.MQTTClient (the HC3's mqtt.Client) on the C
-- primitives of "plua.mqtt" (libmosquitto, in plua-mqtt.so, loaded at the
-- first connect).
--
--   local client = net.MQTTClient.connect("mqtt://127.0.0.1:1883", options)
--   -- or: local client = net.MQTTClient(); client:connect(uri, options)
--   client:addEventListener("connected", function(e) client:subscribe("a/#") end)
--   client:addEventListener("message", function(e) print(e.topic, e.payload) end)
--
-- Methods take the HC3's dot calls (client.publish(...)) as well as colon
-- calls. Payloads are byte strings both ways. Listeners and per-operation
-- callbacks run later on the main loop, each on its own: an error in one is
-- reported with a traceback and the client goes on.

local QoS = { AT_MOST_ONCE = 0, AT_LEAST_ONCE = 1, EXACTLY_ONCE = 2 }
local ConnectReturnCode = {
  CONNECTION_ACCEPTED = 0,
  UNACCEPTABLE_PROTOCOL_VERSION = 1,
  IDENTIFIER_REJECTED = 2,
  SERVER_UNAVAILABLE = 3,
  BAD_USERNAME_OR_PASSWORD = 4,
  NOT_AUTHORIZED = 5,
}

local EVENTS = { "connected", "closed", "message", "subscribed", "unsubscribed", "published", "error" }
local IS_EVENT = {}
for _, name in ipairs(EVENTS) do IS_EVENT[name] = true end

-- The options connect() knows (a typo is an error, not a silent default).
local OPTIONS = {
  port = true, clientId = true, keepAlivePeriod = true, username = true, password = true,
  cleanSession = true, lastWill = true, clientCertificate = true, clientKey = true,
  certificateAuthority = true, tls = true, callback = true, connectTimeout = true,
  reconnect = true, reconnectDelay = true, reconnectDelayMax = true, maxQueuedBytes = true,
}

local Client = {}
Client.__index = Client
Client.__name = "MQTTClient"

-- "mqtt://host[:port]", "mqtts://host[:port]", "host[:port]", "[::1]:port"
-- → host, port (nil: the default), tls
local function parse_uri(uri, level)
  if type(uri) ~= "string" or uri == "" then
    error("bad argument #1 to 'connect' (broker URI expected)", level)
  end
  local scheme, rest = uri:match("^(%w+)://(.*)$")
  if scheme then
    scheme = scheme:lower()
    if scheme ~= "mqtt" and scheme ~= "mqtts" and scheme ~= "tcp" and scheme ~= "ssl" then
      error("connect: unknown scheme '" .. scheme .. "' (mqtt:// or mqtts://)", level)
    end
  else
    rest = uri
  end
  rest = rest:gsub("/.*$", "")
  local host, port = rest:match("^%[([^%]]+)%]:?(%d*)$")
  if not host then host, port = rest:match("^([^:]+):?(%d*)$") end
  if not host or host == "" then error("connect: no host in '" .. uri .. "'", level) end
  return host, tonumber(port), scheme == "mqtts" or scheme == "ssl"
end

local function check_options(options, level)
  if options == nil then return {} end
  if type(options) ~= "table" then
    error("bad argument #2 to 'connect' (table of options expected, got " .. type(options) .. ")", level)
  end
  for key in pairs(options) do
    if not OPTIONS[key] then error("connect: unknown option '" .. tostring(key) .. "'", level) end
  end
  return options
end

local function random_id()
  return ("plua_mqtt_%08x"):format(math.random(0, 0x7fffffff))
end

-- The primitive's options from the HC3's (tls may be a table of the three
-- TLS options, as some firmware documents it).
local function primitive_options(options, tls)
  local tls_opts = type(options.tls) == "table" and options.tls or options
  return {
    clientId = options.clientId or random_id(),
    cleanSession = options.cleanSession ~= false,
    username = options.username,
    password = options.password,
    keepAlivePeriod = options.keepAlivePeriod,
    lastWill = options.lastWill,
    tls = tls or options.tls == true or type(options.tls) == "table",
    certificateAuthority = tls_opts.certificateAuthority,
    clientCertificate = tls_opts.clientCertificate,
    clientKey = tls_opts.clientKey,
    connectTimeout = options.connectTimeout,
    reconnect = options.reconnect,
    reconnectDelay = options.reconnectDelay,
    reconnectDelayMax = options.reconnectDelayMax,
    maxQueuedBytes = options.maxQueuedBytes,
  }
end

-- Per-operation callbacks (options.callback(errorCode), 0 = success) wait
-- for the event with their packet id.
-- Their listener is added with the first such callback, so a client that
-- publishes without callbacks costs no listener call per message.
local function run_pending(self, event, args)
  local fn = self._pending[event][args.packetId]
  if fn then
    self._pending[event][args.packetId] = nil
    fn(0)
  end
end

local function internal_listener(self, event, fn)
  self._internal[fn] = true
  table.insert(self._listeners[event], 1, fn)
end

local function add_pending(self, event, mid, callback)
  if callback == nil then return end
  if not self._pending[event] then
    self._pending[event] = {}
    internal_listener(self, event, function(args) run_pending(self, event, args) end)
  end
  self._pending[event][mid] = callback
end

local function check_callback(options, level)
  if type(options) == "table" and options.callback ~= nil and type(options.callback) ~= "function" then
    error("options.callback must be a function", level + 1)
  end
end

-- An "error" of our own (not connected, queue full...): later, to the
-- listeners there are then (connect() fails before any could be added).
-- The same message is reported once until it was (a publisher hitting a full
-- queue in a loop gets one event, not one per call).
local function fail(self, message)
  if self._failing[message] then return end
  self._failing[message] = true
  setTimeout(function()
    self._failing[message] = nil
    for _, fn in ipairs(self._listeners.error) do
      setTimeout(fn, 0, { code = -1, message = message })
    end
  end, 0)
end

function Client:_init()
  self._listeners = {}
  for _, name in ipairs(EVENTS) do self._listeners[name] = {} end
  self._pending = {}
  self._internal = {}
  self._failing = {}
  -- The internal listeners come first: they settle the connect and
  -- disconnect callbacks.
  internal_listener(self, "connected", function(args)
    local fn = self._connect_callback
    self._connect_callback = nil
    if fn then fn(args.returnCode) end
  end)
  internal_listener(self, "error", function(args)
    local fn = self._connect_callback
    if fn and self:_state() == "closed" then
      self._connect_callback = nil
      fn(args.code)
    end
  end)
  internal_listener(self, "closed", function()
    local fn = self._disconnect_callback
    self._disconnect_callback = nil
    if fn and self:_state() == "closed" then fn(0) end
  end)
  -- Dot calls (client.publish(...)) as on the HC3, colon calls as in Lua.
  for _, name in ipairs({ "connect", "disconnect", "subscribe", "unsubscribe", "publish",
                          "addEventListener", "removeEventListener", "isConnected", "getInfo" }) do
    local method = Client[name]
    self[name] = function(first, ...)
      if first == self then return method(self, ...) end
      return method(self, first, ...)
    end
  end
end

function Client:_state()
  return self._conn and self._conn:state() or "idle"
end

-- connect(uri, options): as mqtt.Client.connect(uri, options) a new client,
-- connecting; as client:connect(uri, options) this one. "connected" (or
-- "error") follows; options.callback(returnCode) too. Client._connect takes
-- first the number of wrappers between the user and it (for error levels).
function Client.connect(first, ...)
  return Client._connect(0, first, ...)
end

function Client._connect(extra, first, ...)
  local level = 3 + extra
  local self, uri, options
  if getmetatable(first) == Client then
    self, uri, options = first, ...
  else
    self = setmetatable({}, Client)
    self:_init()
    uri, options = first, ...
  end
  options = check_options(options, level)
  local host, port, tls = parse_uri(uri, level)
  if self._conn and self._conn:state() ~= "closed" and self._conn:state() ~= "idle" then
    fail(self, "Already connected")
    return self
  end
  local prim = require("plua.mqtt")
  port = options.port or port or ((tls or options.tls) and 8883 or 1883)
  if math.type(port) ~= "integer" then error("connect: port must be an integer", level - 1) end
  self._conn = prim.client(primitive_options(options, tls), self._listeners)
  self._conn:set_owner(self)
  self._host, self._port, self._tls = host, port, tls or options.tls ~= nil
  self._client_id = options.clientId
  check_callback(options, level - 1)
  self._connect_callback = options.callback
  local ok, err = self._conn:connect(host, port)
  if not ok then
    self._connect_callback = nil
    fail(self, err)
    if options.callback then setTimeout(options.callback, 0, -1) end
  end
  return self
end

-- disconnect(options): "closed" follows, and options.callback(0).
function Client:disconnect(options)
  check_callback(options, 2)
  if not self._conn then return end
  if type(options) == "table" then self._disconnect_callback = options.callback end
  self._conn:disconnect()
end

-- A topic, or an array of topics / {topic, qos} / {topic = , qos = }, as
-- {qos → {topics}} in the order of first appearance.
local function group_topics(topics, qos)
  if type(topics) == "string" then return { { qos = qos, topics } } end
  if type(topics) ~= "table" or #topics == 0 then
    error("bad argument #1 to 'subscribe' (topic or list of topics expected)", 3)
  end
  local groups, by_qos = {}, {}
  for i, item in ipairs(topics) do
    local topic, q = item, qos
    if type(item) == "table" then
      topic, q = item.topic or item[1], item.qos or item[2] or qos
    end
    if type(topic) ~= "string" then error("subscribe: topic " .. i .. " is not a string", 3) end
    if not by_qos[q] then
      by_qos[q] = { qos = q }
      groups[#groups + 1] = by_qos[q]
    end
    table.insert(by_qos[q], topic)
  end
  return groups
end

local function check_qos(qos, method)
  if qos == nil then return 0 end
  if qos ~= 0 and qos ~= 1 and qos ~= 2 then
    error(method .. ": qos must be 0, 1 or 2 (mqtt.QoS)", 3)
  end
  return qos
end

-- conn:method(...) → packet id, its callback waiting for `event`; nil after
-- an "error" event and callback(-1) when the request could not be made.
local function request(self, options, event, method, ...)
  local mid, err
  if self._conn then
    mid, err = self._conn[method](self._conn, ...)
  else
    err = "Not connected"
  end
  if not mid then
    fail(self, err)
    if options.callback then setTimeout(options.callback, 0, -1) end
    return nil
  end
  add_pending(self, event, mid, options.callback)
  return mid
end

-- subscribe(topics, {qos, callback}) → packet id. Topics of different QoS
-- go in one SUBSCRIBE each (libmosquitto's limit): the first's id is returned
-- and "subscribed" follows for each.
function Client:subscribe(topics, options)
  options = options or {}
  check_callback(options, 2)
  local qos = check_qos(options.qos, "subscribe")
  local first
  for _, group in ipairs(group_topics(topics, qos)) do
    check_qos(group.qos, "subscribe")
    local mid = request(self, options, "subscribed", "subscribe", group, group.qos)
    if not mid then return nil end
    first = first or mid
  end
  return first
end

-- unsubscribe(topics, {callback}) → packet id.
function Client:unsubscribe(topics, options)
  options = options or {}
  check_callback(options, 2)
  if type(topics) == "string" then topics = { topics } end
  if type(topics) ~= "table" or #topics == 0 then
    error("bad argument #1 to 'unsubscribe' (topic or list of topics expected)", 2)
  end
  return request(self, options, "unsubscribed", "unsubscribe", topics)
end

-- publish(topic, payload, {qos, retain, callback}) → packet id, or nil
-- after an "error" event (not connected, send queue full).
function Client:publish(topic, payload, options)
  options = options or {}
  check_callback(options, 2)
  if type(topic) ~= "string" then error("bad argument #1 to 'publish' (topic expected)", 2) end
  if payload == nil then payload = "" end
  if type(payload) ~= "string" then payload = tostring(payload) end
  local qos = check_qos(options.qos, "publish")
  return request(self, options, "published", "publish", topic, payload, qos, options.retain == true)
end

-- addEventListener(name, fn): connected, closed, message, subscribed,
-- unsubscribed, published, error; fn gets one table.
function Client:addEventListener(name, fn)
  if not IS_EVENT[name] then
    error("addEventListener: unknown event '" .. tostring(name) .. "' (" .. table.concat(EVENTS, ", ") .. ")", 3)
  end
  if type(fn) ~= "function" then error("addEventListener: listener must be a function", 3) end
  table.insert(self._listeners[name], fn)
end

-- removeEventListener(name[, fn]): that listener, or all of the event's.
function Client:removeEventListener(name, fn)
  local list = self._listeners[name]
  if not list then return end
  for i = #list, 1, -1 do
    if not self._internal[list[i]] and (fn == nil or list[i] == fn) then table.remove(list, i) end
  end
end

function Client:isConnected()
  return self:_state() == "connected"
end

function Client:getInfo()
  return { connected = self:isConnected(), state = self:_state(), client_id = self._client_id,
           host = self._host, port = self._port, use_tls = self._tls or false }
end

function Client:__tostring()
  if not self._conn then return "MQTTClient (not connected)" end
  return ("MQTTClient %s:%d (%s)"):format(self._host, self._port, self:_state())
end

Client.__close = Client.disconnect

-- net.MQTTClient() → an unconnected client; net.MQTTClient.connect(uri,
-- options) → a client, connecting (mqtt.Client.connect on the HC3).
setmetatable(Client, {
  __call = function()
    local self = setmetatable({}, Client)
    self:_init()
    return self
  end,
  __tostring = function() return "class MQTTClient" end,
})

return {
  MQTTClient = Client,
  QoS = QoS,
  MQTTConnectReturnCode = ConnectReturnCode,
}

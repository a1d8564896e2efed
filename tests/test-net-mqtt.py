#!/usr/bin/env python3
"""net.MQTTClient and the QuickApps' mqtt.Client against a real Mosquitto
broker started here on free 127.0.0.1 ports with its own configuration: a
plain listener, a password-protected one, a TLS one and a TLS one that wants
a client certificate (certificates made here with openssl). Peers no one here
wrote: mosquitto_pub and mosquitto_sub. Failure cases use small Python peers:
a socket that accepts and stays silent, and a "broker" that answers CONNACK
and then never reads.

usage: test-net-mqtt.py PLUA
"""
import getpass
import hashlib
import os
import socket
import subprocess
import sys
import threading
import time

from netpeers import HOST, Checks, Reader, free_port, wait_listening


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(d):
    """A CA, a server certificate for 127.0.0.1 signed by it, a client
    certificate signed by it, and an unrelated CA (for the failing check)."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=plua test CA",
            "-keyout", "ca.key", "-out", "ca.crt", cwd=d)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=other CA",
            "-keyout", "other.key", "-out", "other.crt", cwd=d)
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, cn in (("server", "127.0.0.1"), ("client", "plua client")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}",
                "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-out", f"{name}.crt",
                *(["-extfile", "san.ext"] if name == "server" else []), cwd=d)


class Broker:
    """mosquitto on four loopback ports; stop() and start() again keep them."""

    def __init__(self, d):
        self.dir = d
        self.plain, self.auth, self.tls, self.mtls = (free_port() for _ in range(4))
        subprocess.run(["mosquitto_passwd", "-b", "-c", os.path.join(d, "passwd"), "alice", "s3cret"],
                       check=True, capture_output=True, timeout=30)
        self.conf = os.path.join(d, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write(f"""\
per_listener_settings true
persistence false
user {getpass.getuser()}
log_dest file {d}/mosquitto.log
listener {self.plain} {HOST}
allow_anonymous true
listener {self.auth} {HOST}
allow_anonymous false
password_file {d}/passwd
listener {self.tls} {HOST}
allow_anonymous true
cafile {d}/ca.crt
certfile {d}/server.crt
keyfile {d}/server.key
listener {self.mtls} {HOST}
allow_anonymous true
cafile {d}/ca.crt
certfile {d}/server.crt
keyfile {d}/server.key
require_certificate true
""")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["timeout", "300", "mosquitto", "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ok = all(wait_listening(p) for p in (self.plain, self.auth, self.tls, self.mtls))
        if not ok:
            raise RuntimeError("mosquitto did not start: " + open(os.path.join(self.dir, "mosquitto.log")).read())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def sub(port, topic, count, *extra, timeout=10):
    """mosquitto_sub in the background: -C count messages, -v (topic payload)."""
    return subprocess.Popen(["mosquitto_sub", "-h", HOST, "-p", str(port), "-t", topic, "-C", str(count),
                             "-W", str(timeout), *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def pub(port, topic, message, *extra):
    """mosquitto_pub of one message (message None: -n, an empty one)."""
    body = ["-n"] if message is None else ["-m", message]
    subprocess.run(["mosquitto_pub", "-h", HOST, "-p", str(port), "-t", topic, *body, *extra],
                   check=True, capture_output=True, timeout=10)


def wait_subscribed(broker, client_id_hint, before):
    """Gives a background mosquitto_sub the time to subscribe (its SUBSCRIBE
    shows in the broker's log)."""
    log = os.path.join(broker.dir, "mosquitto.log")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with open(log, errors="replace") as f:
            text = f.read()
        if text.count("New client connected") > before:
            time.sleep(0.2)
            return
        time.sleep(0.05)


def wait_containing(reader, text, timeout):
    deadline = time.monotonic() + timeout
    while True:
        line = reader.line(max(deadline - time.monotonic(), 0))
        if line is None or text in line:
            return line


def connections(broker):
    with open(os.path.join(broker.dir, "mosquitto.log"), errors="replace") as f:
        return f.read().count("New client connected")


ROUND_TRIP = r'''
local port = tonumber(arg[1])
local payload = {}
for i = 0, 255 do payload[#payload + 1] = string.char(i) end
payload = table.concat(payload)
local client = net.MQTTClient.connect("mqtt://127.0.0.1:" .. port, { clientId = "rt" })
local got, published = 0, {}
client:addEventListener("connected", function(e)
  print("connected", e.sessionPresent, e.returnCode, client:isConnected())
  print("subscribe id", math.type(client:subscribe("rt/#", { qos = mqtt_QoS.EXACTLY_ONCE })))
end)
client:addEventListener("subscribed", function(e)
  print("granted", table.concat(e.results, ","))
  for qos = 0, 2 do
    local id = client:publish("rt/" .. qos, payload .. qos, { qos = qos })
    published[id] = qos
  end
end)
client:addEventListener("published", function(e) print("published qos", published[e.packetId]) end)
client:addEventListener("message", function(e)
  print("message", e.topic, e.payload == payload .. e.topic:sub(-1), e.qos, e.retain)
  got = got + 1
  if got == 3 then client:disconnect({ callback = function(code) print("disconnect callback", code) end }) end
end)
client:addEventListener("closed", function() print("closed", client:isConnected()) end)
client:addEventListener("error", function(e) print("error", e.message) end)
'''.replace("mqtt_QoS", "net.QoS")


def test_round_trips(checks, broker):
    status, out, err, secs = checks.run("round-trip", ROUND_TRIP, broker.plain)
    lines = out.splitlines()
    checks.check("connected event: sessionPresent, returnCode", "connected\tfalse\t0\ttrue" in lines, out + err)
    checks.check("subscribe returns the packet id", "subscribe id\tinteger" in lines, out)
    checks.check("subscribed event with the granted QoS", "granted\t2" in lines, out)
    for qos in range(3):
        checks.check(f"QoS {qos} round trip of a binary payload (all 256 byte values)",
                     f"message\trt/{qos}\ttrue\t{qos}\tfalse" in lines, out)
        checks.check(f"published event for QoS {qos}", f"published qos\t{qos}" in lines, out)
    checks.check("disconnect: its callback, then closed; the run ends by itself",
                 status == 0 and lines[-2:] == ["disconnect callback\t0", "closed\tfalse"], f"{status} {out!r} {err!r}")


def test_interop(checks, broker):
    # plua → mosquitto_sub
    before = connections(broker)
    s = sub(broker.plain, "io/#", 3, "-v")
    wait_subscribed(broker, "sub", before)
    status, out, err, _ = checks.run("to-sub", r'''
local client = net.MQTTClient.connect("127.0.0.1", { port = tonumber(arg[1]) })
client:addEventListener("connected", function()
  client:publish("io/a", "one")
  client:publish("io/b", "two", { qos = 1 })
  client:publish("io/c", "three", { qos = 2, callback = function(code)
    print("publish callback", code)
    client:disconnect()
  end })
end)
''', broker.plain)
    sout, _ = s.communicate(timeout=15)
    checks.check("plua → mosquitto_sub at QoS 0, 1, 2 (bare host and options.port)",
                 sout.decode().splitlines() == ["io/a one", "io/b two", "io/c three"] and "publish callback\t0" in out,
                 f"{sout!r} {out!r} {err!r}")

    # mosquitto_pub → plua, and a retained message for a later subscriber
    pub(broker.plain, "ret/x", "kept", "-r", "-q", "1")
    proc = checks.start("from-pub", r'''
local client = net.MQTTClient.connect("mqtt://127.0.0.1:" .. arg[1])
client:addEventListener("connected", function()
  client:subscribe({ { "ret/x", 1 }, { topic = "live/+", qos = 0 } })
end)
local n = 0
client:addEventListener("subscribed", function(e) n = n + 1; if n == 2 then print("ready") end end)
client:addEventListener("message", function(e)
  print("message", e.topic, e.payload, e.qos, e.retain)
  if e.topic == "live/z" then client:disconnect() end
end)
''', broker.plain)
    r = Reader(proc)
    ready = r.wait_for("ready", timeout=10)
    if ready:
        pub(broker.plain, "live/z", "from mosquitto_pub")
    status, rest, err = r.rest(timeout=10)
    lines = r.lines + rest.splitlines()
    checks.check("retained message delivered to a later subscriber with retain = true",
                 "message\tret/x\tkept\t1\ttrue" in lines, f"{lines} {err}")
    checks.check("mosquitto_pub → plua; a {topic, qos} list of mixed QoS subscribes each",
                 "message\tlive/z\tfrom mosquitto_pub\t0\tfalse" in lines and status == 0, f"{lines} {err}")
    pub(broker.plain, "ret/x", None, "-r")   # clears it

    # plua's retained message read by a mosquitto_sub started afterwards
    status, out, err, _ = checks.run("retain", r'''
local client = net.MQTTClient.connect("mqtt://127.0.0.1:" .. arg[1])
client:addEventListener("connected", function()
  client:publish("ret/plua", "state=on", { qos = 1, retain = true, callback = function() client:disconnect() end })
end)
''', broker.plain)
    s = sub(broker.plain, "ret/plua", 1, "-v", "-W", "5")
    sout, _ = s.communicate(timeout=10)
    checks.check("plua publishes retained: a later mosquitto_sub gets it",
                 sout.decode().strip() == "ret/plua state=on", f"{sout!r} {out!r} {err!r}")
    pub(broker.plain, "ret/plua", None, "-r")


def test_wildcards(checks, broker):
    status, out, err, _ = checks.run("wildcards", r'''
local client = net.MQTTClient.connect("mqtt://127.0.0.1:" .. arg[1])
client:addEventListener("connected", function() client:subscribe({ "home/+/temp", "alarm/#" }) end)
client:addEventListener("subscribed", function()
  for _, t in ipairs({ "home/kitchen/temp", "home/kitchen/humidity", "home/a/b/temp",
                       "alarm", "alarm/zone1/door", "other/temp", "home/hall/temp" }) do
    client:publish(t, t, { qos = 1 })
  end
  client:publish("done", "")
end)
client:addEventListener("message", function(e)
  print(e.topic)
  if e.topic == "home/hall/temp" then
    client:unsubscribe("alarm/#", { callback = function(code)
      print("unsubscribed", code)
      client:publish("alarm/late", "x", { qos = 1, callback = function() client:disconnect() end })
    end })
  end
end)
''', broker.plain)
    got = [l for l in out.splitlines() if not l.startswith("unsubscribed")]
    checks.check("+ and # wildcards deliver exactly the matching topics",
                 got == ["home/kitchen/temp", "alarm", "alarm/zone1/door", "home/hall/temp"], f"{out!r} {err!r}")
    checks.check("unsubscribe: callback, and no more messages on the topic", "unsubscribed\t0" in out, out)


def test_last_will(checks, broker):
    before = connections(broker)
    s = sub(broker.plain, "will/#", 1, "-v")
    wait_subscribed(broker, "sub", before)
    proc = checks.start("will", r'''
local client = net.MQTTClient.connect("mqtt://127.0.0.1:" .. arg[1], {
  clientId = "will-client", keepAlivePeriod = 30,
  lastWill = { topic = "will/status", payload = "offline\0!", qos = 1, retain = false } })
client:addEventListener("connected", function() print("connected") end)
''', broker.plain)
    r = Reader(proc)
    up = r.wait_for("connected", timeout=10)
    proc.kill()
    proc.wait(timeout=5)
    sout, _ = s.communicate(timeout=10)
    checks.check("last will published by the broker when the client is killed",
                 up is not None and sout == b"will/status offline\0!\n", f"{up!r} {sout!r}")


def test_auth(checks, broker):
    status, out, err, _ = checks.run("auth", r'''
local port = tonumber(arg[1])
local bad = net.MQTTClient.connect("mqtt://127.0.0.1:" .. port, { username = "alice", password = "wrong",
  callback = function(code) print("callback", code) end })
bad:addEventListener("connected", function() print("connected anyway") end)
bad:addEventListener("error", function(e)
  print("error", e.code == net.MQTTConnectReturnCode.NOT_AUTHORIZED or
                 e.code == net.MQTTConnectReturnCode.BAD_USERNAME_OR_PASSWORD, e.message)
  local good = net.MQTTClient.connect("mqtt://127.0.0.1:" .. port, { username = "alice", password = "s3cret" })
  good:addEventListener("connected", function(ev) print("good", ev.returnCode); good:disconnect() end)
end)
''', broker.auth)
    lines = out.splitlines()
    checks.check("wrong password: error event with the CONNACK code, and the connect callback",
                 any(l.startswith("error\ttrue\tConnection refused: not authorized") or
                     l.startswith("error\ttrue\tConnection refused: bad user name") for l in lines)
                 and any(l in ("callback\t5", "callback\t4") for l in lines)
                 and "connected anyway" not in lines, f"{out!r} {err!r}")
    checks.check("right password connects; a refused client is not retried and the run ends",
                 "good\t0" in lines and status == 0, f"{status} {out!r} {err!r}")


def test_reconnect(checks, broker):
    proc = checks.start("reconnect", r'''
local client = net.MQTTClient.connect("mqtt://127.0.0.1:" .. arg[1], {
  clientId = "re", reconnectDelay = 100, reconnectDelayMax = 400 })
local n = 0
client:addEventListener("connected", function()
  n = n + 1
  print("connected", n)
  client:subscribe("re/t")
end)
client:addEventListener("subscribed", function() print("subscribed", n) end)
local queued
client:addEventListener("closed", function(e)
  queued = client:publish("re/away", "sent when back", { qos = 1 })
  print("closed", e.code ~= 0, math.type(queued))
end)
client:addEventListener("published", function(e) if e.packetId == queued then print("queued one acknowledged") end end)
client:addEventListener("message", function(e) print("message", e.payload); client:disconnect() end)
''', broker.plain)
    r = Reader(proc)
    first = r.wait_for("subscribed", timeout=10)
    broker.stop()
    closed = r.wait_for("closed", timeout=10)
    time.sleep(0.8)   # a few failed attempts while the broker is away
    broker.start()
    again = r.wait_for("subscribed", timeout=10)
    if again:
        pub(broker.plain, "re/t", "after restart")
    status, rest, err = r.rest(timeout=10)
    checks.check("broker stopped: closed is reported; a QoS 1 publish meanwhile gets a packet id",
                 first == "subscribed\t1" and closed == "closed\ttrue\tinteger", f"{r.lines} {err}")
    checks.check("... and goes out when the connection is back",
                 "queued one acknowledged" in r.lines + rest.splitlines(), f"{r.lines} {rest!r}")
    checks.check("broker restarted: connected again (with back-off) and messages flow",
                 again == "subscribed\t2" and "message\tafter restart" in rest.splitlines() and status == 0,
                 f"{r.lines} {rest!r} {err}")


QA = r'''
--%%name=MQTT sensor
--%%type=com.fibaro.temperatureSensor
function QuickApp:onInit()
  local port = tonumber(os.getenv("MQTT_PORT"))
  self.client = mqtt.Client.connect("mqtt://127.0.0.1:" .. port, { clientId = "qa" })
  -- the dot calls of Fibaro's manual
  self.client.addEventListener("connected", function(e)
    self:debug("connected", e.returnCode == mqtt.ConnectReturnCode.CONNECTION_ACCEPTED)
    self.client:subscribe("zigbee2mqtt/sensor", { qos = mqtt.QoS.AT_LEAST_ONCE })
  end)
  local function never() print("removed listener ran") end
  self.client:addEventListener("message", never)
  self.client:removeEventListener("message", never)
  self.client:addEventListener("subscribed", function() print("subscribed") end)
  self.client:addEventListener("message", function(e)
    local data = json.decode(e.payload)
    self:updateProperty("value", data.temperature)
    self:debug("value", fibaro.getValue(self.id, "value"))
    if data.temperature > 30 then error("too hot") end
  end)
end
'''


def test_quickapp(checks, broker):
    path = checks.script("qa", QA)
    env = dict(os.environ, MQTT_PORT=str(broker.plain))
    proc = subprocess.Popen([checks.plua, "--noapi", "--fibaro", path], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=checks.tmp, env=env)
    checks.procs.append(proc)
    r = Reader(proc)
    ready = wait_containing(r, "subscribed", 15)
    if ready:
        pub(broker.plain, "zigbee2mqtt/sensor", '{"temperature": 31.5}')
        pub(broker.plain, "zigbee2mqtt/sensor", '{"temperature": 21.25}')
    seen = [wait_containing(r, "value", 5), r.line(5), r.line(5)]
    proc.terminate()
    proc.wait(timeout=10)
    text = "\n".join(r.lines)
    checks.check("a QuickApp under --fibaro subscribes and updates its property from messages",
                 "connected true" in text and "value 31.5" in text and "value 21.25" in text, text)
    checks.check("removeEventListener in a QuickApp removes the listener", "removed listener ran" not in text, text)
    checks.check("an error in a QuickApp's listener is logged and the client goes on",
                 any("ERROR" in (l or "") and "too hot" in (l or "") for l in seen) and "value 21.25" in text, text)


def test_tls(checks, broker, d):
    ca = open(os.path.join(d, "ca.crt")).read()
    status, out, err, _ = checks.run("tls", r'''
local ca, other, dir = arg[3], arg[4], arg[5]
local function readall(p) local f = assert(io.open(p)); local s = f:read("a"); f:close(); return s end
local ok = net.MQTTClient.connect("mqtts://127.0.0.1:" .. arg[1], { certificateAuthority = readall(ca) })
ok:addEventListener("connected", function()
  print("tls connected", ok:getInfo().use_tls)
  ok:subscribe("tls/t")
end)
ok:addEventListener("subscribed", function() ok:publish("tls/t", "secret", { qos = 1 }) end)
ok:addEventListener("message", function(e) print("tls message", e.payload); ok:disconnect() end)
ok:addEventListener("error", function(e) print("tls error", e.message) end)

local bad = net.MQTTClient.connect("mqtts://127.0.0.1:" .. arg[1], { certificateAuthority = other })
bad:addEventListener("connected", function() print("bad connected") end)
bad:addEventListener("error", function(e) print("bad error", e.message) end)

local m = net.MQTTClient.connect("mqtts://127.0.0.1:" .. arg[2], {
  certificateAuthority = readall(ca), clientCertificate = readall(dir .. "/client.crt"), clientKey = dir .. "/client.key" })
m:addEventListener("connected", function() print("mtls connected"); m:disconnect() end)
m:addEventListener("error", function(e) print("mtls error", e.message) end)
local n = net.MQTTClient.connect("mqtts://127.0.0.1:" .. arg[2], { tls = { certificateAuthority = ca } })
n:addEventListener("connected", function() print("no cert connected") end)
n:addEventListener("error", function(e) print("no cert error") end)
''', broker.tls, broker.mtls, os.path.join(d, "ca.crt"), os.path.join(d, "other.crt"), d)
    lines = out.splitlines()
    checks.check("mqtts:// with the CA as PEM text: connected and a round trip",
                 "tls connected\ttrue" in lines and "tls message\tsecret" in lines, f"{out!r} {err!r}")
    checks.check("a server certificate that does not verify: error, no connection",
                 any(l.startswith("bad error") and "certificate verify failed" in l for l in lines)
                 and "bad connected" not in lines, out)
    checks.check("client certificate and key (PEM text and file) accepted by a require_certificate listener",
                 "mtls connected" in lines, out)
    checks.check("without a client certificate that listener refuses", "no cert error" in lines
                 and "no cert connected" not in lines, out)
    checks.check("TLS run ends by itself", status == 0, f"{status} {err!r}")


def test_silent_broker(checks):
    srv = socket.socket()
    srv.bind((HOST, 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    seen = {}

    def peer():
        srv.settimeout(10)
        try:
            conn, _ = srv.accept()
        except OSError:
            return
        conn.settimeout(10)
        data = b""
        try:
            while True:        # reads the CONNECT, answers nothing, until plua hangs up
                chunk = conn.recv(4096)
                if not chunk:
                    seen["eof"] = True
                    break
                data += chunk
        except OSError:
            pass
        seen["connect"] = data[:1] == b"\x10"
        conn.close()

    t = threading.Thread(target=peer, daemon=True)
    t.start()
    status, out, err, secs = checks.run("silent", r'''
local client = net.MQTTClient.connect("mqtt://127.0.0.1:" .. arg[1], { connectTimeout = 500 })
client:addEventListener("connected", function() print("connected?") end)
client:addEventListener("error", function(e) print("error", e.message) end)
''', port)
    t.join(5)
    srv.close()
    checks.check("a broker that never answers CONNECT: error after connectTimeout, the run ends",
                 status == 0 and out == "error\tConnection failed: no answer from the broker in 500 ms\n" and secs < 5,
                 f"{status} {out!r} {err!r} {secs:.1f}s")
    checks.check("... and plua hung up on it", seen.get("connect") and seen.get("eof"), str(seen))

    status, out, err, _ = checks.run("refused", r'''
local client = net.MQTTClient.connect("mqtt://127.0.0.1:" .. arg[1])
client:addEventListener("error", function(e) print("error", e.message) end)
print(client:publish("a", "b"))
''', free_port())
    checks.check("nothing listening: error event; publish before connected returns nil",
                 out.splitlines() == ["nil", "error\tNot connected", "error\tConnection failed: Connection refused"]
                 or "error\tConnection failed: Connection refused" in out.splitlines(), f"{out!r} {err!r}")


def test_big_payload(checks, broker):
    data = os.urandom(10 * 1024 * 1024)
    src = os.path.join(checks.tmp, "big.bin")
    with open(src, "wb") as f:
        f.write(data)
    before = connections(broker)
    s = sub(broker.plain, "big/x", 1, "-N", "-W", "30")
    wait_subscribed(broker, "sub", before)
    status, out, err, _ = checks.run("big", r'''
local f = assert(io.open(arg[2], "rb")); local data = f:read("a"); f:close()
local client = net.MQTTClient.connect("mqtt://127.0.0.1:" .. arg[1])
client:addEventListener("connected", function() client:subscribe("big/x", { qos = 1 }) end)
client:addEventListener("subscribed", function() client:publish("big/x", data, { qos = 1 }) end)
client:addEventListener("message", function(e)
  local out = assert(io.open(arg[3], "wb")); out:write(e.payload); out:close()
  print("received", #e.payload)
  client:disconnect()
end)
''', broker.plain, src, os.path.join(checks.tmp, "big.out"), timeout=60)
    sout, _ = s.communicate(timeout=40)
    got = open(os.path.join(checks.tmp, "big.out"), "rb").read() if os.path.exists(os.path.join(checks.tmp, "big.out")) else b""
    checks.check("a 10 MB binary payload: plua → broker → plua byte for byte",
                 hashlib.sha256(got).digest() == hashlib.sha256(data).digest() and status == 0, f"{out!r} {err!r}")
    checks.check("a 10 MB binary payload reaches mosquitto_sub intact",
                 hashlib.sha256(sout).digest() == hashlib.sha256(data).digest(), f"{len(sout)} bytes")


def stalled_broker():
    """Answers CONNACK, then never reads: the client's queue must fill."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    srv.bind((HOST, 0))
    srv.listen(1)

    def run():
        srv.settimeout(20)
        try:
            conn, _ = srv.accept()
            conn.recv(4096)
            conn.sendall(b"\x20\x02\x00\x00")
            time.sleep(15)
            conn.close()
        except OSError:
            pass
        srv.close()

    threading.Thread(target=run, daemon=True).start()
    return srv.getsockname()[1]


FLOOD_QA = r'''
--%%name=Flood
function QuickApp:onInit()
  local client = mqtt.Client.connect("mqtt://127.0.0.1:" .. os.getenv("MQTT_PORT"),
    { maxQueuedBytes = 8 * 1024 * 1024 })
  local chunk = string.rep("x", 10000)
  client:addEventListener("error", function(e) self:warning("mqtt error:", e.message) end)
  client:addEventListener("connected", function()
    local sent = 0
    for i = 1, 100000 do                 -- 1 GB if nothing pushed back
      if not client:publish("flood", chunk) then break end
      sent = sent + 1
    end
    local hwm = tonumber(io.open("/proc/self/status"):read("a"):match("VmHWM:%s*(%d+)"))
    self:debug("accepted", sent < 100000, sent * 10000 < 64 * 1024 * 1024, "bounded", hwm < 200 * 1024)
    client:disconnect()
  end)
  client:addEventListener("closed", function() os.exit(0) end)
end
'''


def run_qa(checks, name, text, port, timeout=30):
    path = checks.script(name, text)
    env = dict(os.environ, MQTT_PORT=str(port))
    try:
        proc = subprocess.run([checks.plua, "--noapi", "--fibaro", path], capture_output=True, timeout=timeout,
                              cwd=checks.tmp, env=env)
        return proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        return None, (e.stdout or b"").decode(errors="replace"), "timed out"


def test_tight_loop(checks, broker):
    status, out, err = run_qa(checks, "flood-qa", FLOOD_QA, stalled_broker())
    checks.check("a QuickApp publishing faster than the broker reads: publish returns nil and "
                 "'send queue full' is logged", "accepted true true" in out and
                 "mqtt error: send queue full" in out and out.count("send queue full") == 1, f"{out!r} {err!r}")
    checks.check("... memory stays bounded, and disconnect gives up on a peer that reads nothing",
                 "bounded true" in out and status == 0, f"{status} {out!r} {err!r}")

    status, out, err, _ = checks.run("flood", r'''
local client = net.MQTTClient.connect("mqtt://127.0.0.1:" .. arg[1])
client:addEventListener("connected", function()
  local ok = 0
  for i = 1, 50000 do
    if client:publish("flood/real", string.rep("y", 100) .. i) then ok = ok + 1 end
  end
  local hwm = tonumber(io.open("/proc/self/status"):read("a"):match("VmHWM:%s*(%d+)"))
  print("flood", ok, hwm < 200 * 1024)
  client:disconnect()
end)
''', broker.plain, timeout=60)
    checks.check("a tight loop of 50,000 publishes to mosquitto: all accepted, memory bounded, the run ends",
                 out == "flood\t50000\ttrue\n" and status == 0, f"{status} {out!r} {err!r}")


def test_maps(checks, broker):
    status, out, err, _ = checks.run("maps", r'''
local function mapped() return io.open("/proc/self/maps"):read("a"):find("libmosquitto") ~= nil end
local before = mapped()
local c = net.MQTTClient()
print(before, mapped())
c:connect("mqtt://127.0.0.1:" .. arg[1])
print(mapped())
c:disconnect()
''', broker.plain)
    checks.check("a plain run (even one making an unconnected client) does not map libmosquitto; connect does",
                 out.splitlines() == ["false\tfalse", "true"], f"{out!r} {err!r}")


def main():
    checks = Checks(os.path.abspath(sys.argv[1]), prefix="plua-mqtt-test-")
    d = os.path.join(checks.tmp, "broker")
    os.mkdir(d)
    broker = None
    try:
        make_certificates(d)
        broker = Broker(d)
        broker.start()
        test_maps(checks, broker)
        test_round_trips(checks, broker)
        test_interop(checks, broker)
        test_wildcards(checks, broker)
        test_last_will(checks, broker)
        test_auth(checks, broker)
        test_tls(checks, broker, d)
        test_quickapp(checks, broker)
        test_silent_broker(checks)
        test_big_payload(checks, broker)
        test_tight_loop(checks, broker)
        test_reconnect(checks, broker)
    except Exception as e:    # a peer that could not start is a failure, not a skip
        checks.check("test setup", False, repr(e))
    finally:
        if broker:
            broker.stop()
        checks.finish()


if __name__ == "__main__":
    main()

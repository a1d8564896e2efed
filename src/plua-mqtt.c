/* plua-mqtt.c: the C half of net.MQTTClient and the QuickApps' mqtt.Client,
 * on libmosquitto, in plua-mqtt.so (plua-mqtt-module.h).
 *
 * `require "plua.mqtt"` returns:
 *
 *   mqtt.client(options, listeners) → conn
 *     conn:connect(host, port) → true | nil, message    "connected"/"error" follow
 *     conn:subscribe({topic...}, qos) → packet id | nil, message
 *     conn:unsubscribe({topic...}) → packet id | nil, message
 *     conn:publish(topic, payload, qos, retain) → packet id | nil, message
 *     conn:disconnect()                                   "closed" follows
 *     conn:state() → "idle" | "connecting" | "connected" | "reconnecting"
 *                    | "disconnecting" | "closed"
 *
 * `listeners` maps event names to arrays of functions (lua/net/mqtt.lua's
 * addEventListener fills it); each is called with one table: connected
 * {sessionPresent, returnCode}, closed {code, reason}, message {topic,
 * payload, qos, retain, packetId}, subscribed {packetId, results},
 * unsubscribed {packetId}, published {packetId}, error {code, message}.
 *
 * libmosquitto runs without its thread: its socket is watched by a GSource on
 * the main context (IN always, OUT while mosquitto_want_write), which calls
 * mosquitto_loop_read/write, and mosquitto_loop_misc once a second for the
 * keep-alive. libmosquitto's callbacks only queue events; the queue is drained
 * from an idle on the main loop, where the listeners run. So Lua never runs
 * inside libmosquitto, and a listener may publish, disconnect or drop the
 * client freely.
 *
 * Back-pressure: every message handed to libmosquitto is counted until it is
 * written (QoS 0) or acknowledged (QoS 1 and 2). Past maxQueuedBytes (or
 * MAX_QUEUED_MESSAGES, below the 16-bit packet id space), publish refuses with
 * "send queue full" instead of growing without bound.
 *
 * Reconnecting: when a connection that was up goes away (not by disconnect()),
 * "closed" is reported and the client reconnects after reconnectDelay,
 * doubling up to reconnectDelayMax; "connected" follows when it is back. A
 * first connection that fails ("error") is not retried, so a script pointed at
 * no broker ends. A client holds the run (PLUA_PENDING_SOCKET) from connect()
 * until it is closed.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <gmodule.h>
#include <lauxlib.h>
#include <mosquitto.h>
#include <pthread.h>

#include "plua-mqtt-module.h"
#include "plua-net-common.h"
#include "plua-runtime.h"

#define MQTT_META "plua.mqtt.client"
#define DEFAULT_MAX_QUEUED (64 * 1024 * 1024)
#define MAX_QUEUED_MESSAGES 60000
/* Reads per dispatch while the socket has bytes: fairness with the rest. */
#define MAX_READS_PER_DISPATCH 1000
#define DISCONNECT_GRACE_MS 2000

typedef enum
{
  MQTT_IDLE,
  MQTT_CONNECTING,
  MQTT_CONNECTED,
  MQTT_RECONNECTING,
  MQTT_DISCONNECTING,
  MQTT_CLOSED,
} MqttState;

typedef enum
{
  EV_CONNECTED,
  EV_CLOSED,
  EV_MESSAGE,
  EV_SUBSCRIBED,
  EV_UNSUBSCRIBED,
  EV_PUBLISHED,
  EV_ERROR,
} EventKind;

static const char *const event_names[] = {
  "connected", "closed", "message", "subscribed", "unsubscribed", "published", "error",
};

typedef struct
{
  EventKind kind;
  int       code;       /* returnCode, error or close code */
  int       mid;
  int       qos;
  gboolean  flag;       /* sessionPresent, retain */
  char     *topic;
  GBytes   *payload;
  char     *message;
  GArray   *granted;    /* of int */
} Event;

typedef struct
{
  gsize size;
  int   qos;
} Queued;

typedef struct _Mqtt Mqtt;

typedef struct
{
  GSource  source;
  Mqtt    *mqtt;
  gpointer tag;
} MqttSource;

struct _Mqtt
{
  gint              ref_count;
  PluaRuntime      *runtime;
  lua_State        *L;              /* the main state, never a coroutine */
  struct mosquitto *mosq;
  MqttState         state;
  gboolean          dead;           /* the userdata was collected */
  gboolean          held;
  int               self_ref;
  int               listeners_ref;
  char             *host;
  int               port;
  int               keepalive;
  GSource          *source;
  guint             reconnect_id;
  guint             timeout_id;
  guint             drain_id;
  guint             connect_timeout_ms;
  guint             reconnect_delay_ms;
  guint             reconnect_delay_max_ms;
  guint             next_delay_ms;
  gboolean          reconnect;      /* for this connection */
  gboolean          reconnect_wanted;
  GQueue            events;
  GHashTable       *queued;         /* mid → Queued */
  gsize             queued_bytes;
  gsize             max_queued_bytes;
  int               publish_mid;    /* while mosquitto_publish runs */
  gboolean          publish_sent;
  char             *last_log_error; /* libmosquitto's last error line (TLS) */
  char             *tmpdir;         /* PEM texts written for libmosquitto */
};

typedef struct
{
  Mqtt *mqtt;
} MqttBox;

/* libmosquitto writes with send() without MSG_NOSIGNAL: a broker gone away
 * would kill the process with SIGPIPE. Every call that may write runs with
 * SIGPIPE blocked, and a SIGPIPE it raised is consumed before unblocking. */
typedef struct
{
  sigset_t old;
} SigpipeGuard;

static void
sigpipe_block (SigpipeGuard *g)
{
  sigset_t set;

  sigemptyset (&set);
  sigaddset (&set, SIGPIPE);
  pthread_sigmask (SIG_BLOCK, &set, &g->old);
}

/* A SIGPIPE pending now was raised inside: unless it was blocked before, no
 * earlier one can be pending (it would have been delivered). */
static void
sigpipe_restore (SigpipeGuard *g)
{
  sigset_t set;
  const struct timespec zero = { 0, 0 };
  int saved_errno = errno;   /* it says why a call failed */

  if (sigismember (&g->old, SIGPIPE))
    return;
  sigemptyset (&set);
  sigaddset (&set, SIGPIPE);
  while (sigtimedwait (&set, NULL, &zero) == SIGPIPE)
    ;
  pthread_sigmask (SIG_SETMASK, &g->old, NULL);
  errno = saved_errno;
}

static void mqtt_watch_socket   (Mqtt *m);
static void mqtt_unwatch_socket (Mqtt *m);
static void mqtt_update_hold    (Mqtt *m);
static void abandon_socket      (Mqtt *m);

static Mqtt *
mqtt_ref (Mqtt *m)
{
  m->ref_count++;
  return m;
}

static void
event_free (gpointer data)
{
  Event *e = data;

  g_free (e->topic);
  g_clear_pointer (&e->payload, g_bytes_unref);
  g_free (e->message);
  g_clear_pointer (&e->granted, g_array_unref);
  g_free (e);
}

static void
remove_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (dir);
}

static void
mqtt_unref (Mqtt *m)
{
  if (--m->ref_count > 0)
    return;
  g_clear_handle_id (&m->reconnect_id, g_source_remove);
  g_clear_handle_id (&m->timeout_id, g_source_remove);
  g_clear_handle_id (&m->drain_id, g_source_remove);
  mqtt_unwatch_socket (m);
  g_clear_pointer (&m->mosq, mosquitto_destroy);
  g_queue_clear_full (&m->events, event_free);
  g_clear_pointer (&m->queued, g_hash_table_unref);
  if (m->tmpdir != NULL)
    remove_dir (m->tmpdir);
  g_free (m->tmpdir);
  g_free (m->host);
  g_free (m->last_log_error);
  g_free (m);
}

/* ---------- events ---------- */

static const char *
state_name (MqttState state)
{
  static const char *const names[] = {
    "idle", "connecting", "connected", "reconnecting", "disconnecting", "closed",
  };

  return names[state];
}

static void
push_event_table (lua_State *L,
                  Event     *e)
{
  lua_newtable (L);
  switch (e->kind)
    {
    case EV_CONNECTED:
      lua_pushboolean (L, e->flag);
      lua_setfield (L, -2, "sessionPresent");
      lua_pushinteger (L, e->code);
      lua_setfield (L, -2, "returnCode");
      break;
    case EV_CLOSED:
      lua_pushinteger (L, e->code);
      lua_setfield (L, -2, "code");
      lua_pushstring (L, e->message);
      lua_setfield (L, -2, "reason");
      break;
    case EV_MESSAGE:
      lua_pushstring (L, e->topic);
      lua_setfield (L, -2, "topic");
      plua_net_push_bytes (L, e->payload);
      lua_setfield (L, -2, "payload");
      lua_pushinteger (L, e->qos);
      lua_setfield (L, -2, "qos");
      lua_pushboolean (L, e->flag);
      lua_setfield (L, -2, "retain");
      lua_pushinteger (L, e->mid);
      lua_setfield (L, -2, "packetId");
      break;
    case EV_SUBSCRIBED:
      lua_createtable (L, e->granted->len, 0);
      for (guint i = 0; i < e->granted->len; i++)
        {
          lua_pushinteger (L, g_array_index (e->granted, int, i));
          lua_rawseti (L, -2, i + 1);
        }
      lua_setfield (L, -2, "results");
      G_GNUC_FALLTHROUGH;
    case EV_UNSUBSCRIBED:
    case EV_PUBLISHED:
      lua_pushinteger (L, e->mid);
      lua_setfield (L, -2, "packetId");
      break;
    case EV_ERROR:
      lua_pushinteger (L, e->code);
      lua_setfield (L, -2, "code");
      lua_pushstring (L, e->message);
      lua_setfield (L, -2, "message");
      break;
    }
}

/* No table is built for an event without listeners (a publisher's
 * "published", 100,000 times). */
static gboolean
has_listeners (Mqtt       *m,
               const char *event)
{
  lua_State *L = m->L;
  gboolean has;

  lua_rawgeti (L, LUA_REGISTRYINDEX, m->listeners_ref);
  lua_getfield (L, -1, event);
  has = lua_isfunction (L, -1) || (lua_istable (L, -1) && lua_rawlen (L, -1) > 0);
  lua_pop (L, 2);
  return has;
}

/* Runs the listeners of every queued event, in order. */
static gboolean
drain_events (gpointer user_data)
{
  Mqtt *m = user_data;
  lua_State *L = m->L;
  Event *e;

  m->drain_id = 0;
  mqtt_ref (m);
  while (!m->dead && (e = g_queue_pop_head (&m->events)) != NULL)
    {
      if (has_listeners (m, event_names[e->kind]))
        {
          push_event_table (L, e);
          plua_net_spawn_listeners (m->runtime, L, m->listeners_ref, event_names[e->kind], 1);
        }
      event_free (e);
    }
  mqtt_update_hold (m);
  plua_runtime_dispatched (m->runtime);
  mqtt_unref (m);
  return G_SOURCE_REMOVE;
}

static Event *
queue_event (Mqtt      *m,
             EventKind  kind,
             int        code)
{
  Event *e = g_new0 (Event, 1);

  e->kind = kind;
  e->code = code;
  g_queue_push_tail (&m->events, e);
  if (m->drain_id == 0 && !m->dead)
    m->drain_id = g_idle_add_full (G_PRIORITY_DEFAULT, drain_events, m, NULL);
  return e;
}

static void
queue_error (Mqtt       *m,
             int         code,
             const char *message)
{
  queue_event (m, EV_ERROR, code)->message = g_strdup (message);
}

/* What a libmosquitto error code means to a user; errno for MOSQ_ERR_ERRNO. */
static char *
describe_error (Mqtt *m,
                int   rc)
{
  if (rc == MOSQ_ERR_ERRNO)
    return g_strdup (g_strerror (errno));
  if (rc == MOSQ_ERR_EAI)
    return g_strdup_printf ("cannot resolve host '%s'", m->host);
  if (rc == MOSQ_ERR_TLS && m->last_log_error != NULL)
    return g_strdup_printf ("%s (%s)", mosquitto_strerror (rc), m->last_log_error);
  return g_strdup (mosquitto_strerror (rc));
}

/* ---------- holding the run ---------- */

static gboolean
mqtt_wants_hold (Mqtt *m)
{
  return !m->dead && m->state != MQTT_IDLE && m->state != MQTT_CLOSED;
}

static void
mqtt_update_hold (Mqtt *m)
{
  if (!mqtt_wants_hold (m))
    plua_net_release (m->L, m->runtime, PLUA_PENDING_SOCKET, &m->held, &m->self_ref, !m->dead);
}

/* ---------- the queue of outgoing messages ---------- */

static void
queued_forget (Mqtt *m,
               int   mid)
{
  Queued *q = g_hash_table_lookup (m->queued, GINT_TO_POINTER (mid));

  if (q == NULL)
    return;
  m->queued_bytes -= q->size;
  g_hash_table_remove (m->queued, GINT_TO_POINTER (mid));
}

static gboolean
drop_qos0 (gpointer key,
           gpointer value,
           gpointer user_data)
{
  Mqtt *m = user_data;
  Queued *q = value;

  if (q->qos != 0)
    return FALSE;
  m->queued_bytes -= q->size;
  return TRUE;
}

/* ---------- libmosquitto's callbacks: they only queue ---------- */

static const char *
connack_text (int rc)
{
  switch (rc)
    {
    case 1: return "Connection refused: unacceptable protocol version";
    case 2: return "Connection refused: identifier rejected";
    case 3: return "Connection refused: server unavailable";
    case 4: return "Connection refused: bad user name or password";
    case 5: return "Connection refused: not authorized";
    default: return "Connection refused";
    }
}

static void
on_connect (struct mosquitto *mosq,
            void             *obj,
            int               rc,
            int               flags,
            const mosquitto_property *props)
{
  Mqtt *m = obj;

  g_clear_handle_id (&m->timeout_id, g_source_remove);
  if (rc != 0)
    {
      /* The broker closes next; a refusal is final (no retry with the same
       * credentials). */
      m->reconnect = FALSE;
      queue_error (m, rc, connack_text (rc));
      return;
    }
  m->state = MQTT_CONNECTED;
  m->next_delay_ms = m->reconnect_delay_ms;
  queue_event (m, EV_CONNECTED, 0)->flag = (flags & 1) != 0;
}

static gboolean
on_reconnect_timer (gpointer user_data);

static void
schedule_reconnect (Mqtt *m)
{
  m->state = MQTT_RECONNECTING;
  m->reconnect_id = g_timeout_add (m->next_delay_ms, on_reconnect_timer, m);
  m->next_delay_ms = MIN (m->next_delay_ms * 2, m->reconnect_delay_max_ms);
}

static void
on_disconnect (struct mosquitto *mosq,
               void             *obj,
               int               rc,
               const mosquitto_property *props)
{
  Mqtt *m = obj;
  MqttState before = m->state;
  /* First: errno says why, until GLib's calls below change it. */
  g_autofree char *why = describe_error (m, rc);

  mqtt_unwatch_socket (m);
  g_clear_handle_id (&m->timeout_id, g_source_remove);
  g_hash_table_foreach_remove (m->queued, drop_qos0, m);
  if (before == MQTT_CLOSED || before == MQTT_IDLE)
    return;

  if (before == MQTT_DISCONNECTING || rc == 0)
    {
      m->state = MQTT_CLOSED;
      queue_event (m, EV_CLOSED, 0)->message = g_strdup ("disconnected");
      return;
    }
  if (before == MQTT_CONNECTED)
    {
      queue_event (m, EV_CLOSED, rc)->message = g_steal_pointer (&why);
      if (m->reconnect)
        {
          schedule_reconnect (m);
          return;
        }
      m->state = MQTT_CLOSED;
      return;
    }
  if (before == MQTT_RECONNECTING && m->reconnect)
    {
      /* Another failed attempt: quietly try again later. */
      schedule_reconnect (m);
      return;
    }
  /* A first connection that did not come up (a refused CONNACK has already
   * been reported). */
  if (m->reconnect || rc != MOSQ_ERR_CONN_REFUSED)
    {
      g_autofree char *text = g_strdup_printf ("Connection failed: %s", why);

      queue_error (m, rc, text);
    }
  m->state = MQTT_CLOSED;
}

static void
on_message (struct mosquitto *mosq,
            void             *obj,
            const struct mosquitto_message *msg,
            const mosquitto_property *props)
{
  Mqtt *m = obj;
  Event *e = queue_event (m, EV_MESSAGE, 0);

  e->topic = g_strdup (msg->topic);
  e->payload = g_bytes_new (msg->payload, msg->payloadlen);
  e->qos = msg->qos;
  e->flag = msg->retain;
  e->mid = msg->mid;
}

static void
on_publish (struct mosquitto *mosq,
            void             *obj,
            int               mid,
            int               reason,
            const mosquitto_property *props)
{
  Mqtt *m = obj;

  /* A QoS 0 message can be written inside mosquitto_publish itself. */
  if (mid == m->publish_mid)
    m->publish_sent = TRUE;
  queued_forget (m, mid);
  queue_event (m, EV_PUBLISHED, 0)->mid = mid;
}

static void
on_subscribe (struct mosquitto *mosq,
              void             *obj,
              int               mid,
              int               count,
              const int        *granted,
              const mosquitto_property *props)
{
  Mqtt *m = obj;
  Event *e = queue_event (m, EV_SUBSCRIBED, 0);

  e->mid = mid;
  e->granted = g_array_sized_new (FALSE, FALSE, sizeof (int), count);
  g_array_append_vals (e->granted, granted, count);
}

static void
on_unsubscribe (struct mosquitto *mosq,
                void             *obj,
                int               mid,
                const mosquitto_property *props)
{
  queue_event (obj, EV_UNSUBSCRIBED, 0)->mid = mid;
}

/* Keeps the last error line: it says why a TLS handshake failed. */
static void
on_log (struct mosquitto *mosq,
        void             *obj,
        int               level,
        const char       *text)
{
  Mqtt *m = obj;

  if (level != MOSQ_LOG_ERR)
    return;
  g_free (m->last_log_error);
  m->last_log_error = g_strdup (text);
}

/* ---------- the socket on the main loop ---------- */

static gboolean
source_prepare (GSource *source,
                gint    *timeout)
{
  MqttSource *s = (MqttSource *) source;
  GIOCondition want = G_IO_IN | G_IO_ERR | G_IO_HUP;

  if (mosquitto_want_write (s->mqtt->mosq))
    want |= G_IO_OUT;
  g_source_modify_unix_fd (source, s->tag, want);
  *timeout = -1;
  return FALSE;
}

static gboolean
source_dispatch (GSource     *source,
                 GSourceFunc  callback,
                 gpointer     user_data)
{
  MqttSource *s = (MqttSource *) source;
  Mqtt *m = mqtt_ref (s->mqtt);
  GIOCondition got = g_source_query_unix_fd (source, s->tag);
  SigpipeGuard guard;
  int rc = MOSQ_ERR_SUCCESS;

  sigpipe_block (&guard);
  if (got & (G_IO_IN | G_IO_ERR | G_IO_HUP))
    {
      int reads = 0;

      /* One packet per call; libmosquitto leaves errno at EAGAIN when the
       * socket is drained, as its own loop relies on. */
      do
        {
          errno = 0;
          rc = mosquitto_loop_read (m->mosq, 1);
        }
      while (rc == MOSQ_ERR_SUCCESS && m->source == source && ++reads < MAX_READS_PER_DISPATCH &&
             errno != EAGAIN && errno != EWOULDBLOCK);
    }
  if (rc == MOSQ_ERR_SUCCESS && m->source == source && (got & G_IO_OUT))
    rc = mosquitto_loop_write (m->mosq, 1);
  /* A failed TLS handshake returns without on_disconnect. */
  if (rc != MOSQ_ERR_SUCCESS && m->source == source)
    {
      int saved_errno = errno;

      abandon_socket (m);
      errno = saved_errno;
      on_disconnect (m->mosq, m, rc, NULL);
    }
  if (m->source == source && g_source_get_ready_time (source) <= g_source_get_time (source))
    {
      mosquitto_loop_misc (m->mosq);
      if (m->source == source)
        g_source_set_ready_time (source, g_source_get_time (source) + G_USEC_PER_SEC);
    }
  sigpipe_restore (&guard);
  mqtt_unref (m);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs source_funcs = {
  .prepare = source_prepare,
  .dispatch = source_dispatch,
};

static void
mqtt_watch_socket (Mqtt *m)
{
  int fd = mosquitto_socket (m->mosq);
  MqttSource *s;

  mqtt_unwatch_socket (m);
  if (fd < 0)
    return;
  m->source = g_source_new (&source_funcs, sizeof (MqttSource));
  s = (MqttSource *) m->source;
  s->mqtt = m;
  s->tag = g_source_add_unix_fd (m->source, fd, G_IO_IN | G_IO_OUT);
  g_source_set_ready_time (m->source, g_get_monotonic_time () + G_USEC_PER_SEC);
  g_source_set_name (m->source, "plua mqtt socket");
  g_source_attach (m->source, NULL);
}

static void
mqtt_unwatch_socket (Mqtt *m)
{
  if (m->source == NULL)
    return;
  g_source_destroy (m->source);
  g_clear_pointer (&m->source, g_source_unref);
}

/* Stops driving the socket of a connection that never came up; shutting it
 * down tells a silent peer at once. libmosquitto closes it at the next
 * connect or when the client goes. */
static void
abandon_socket (Mqtt *m)
{
  int fd = mosquitto_socket (m->mosq);

  g_clear_handle_id (&m->timeout_id, g_source_remove);
  mqtt_unwatch_socket (m);
  if (fd >= 0)
    shutdown (fd, SHUT_RDWR);
}

static gboolean
on_connect_timeout (gpointer user_data)
{
  Mqtt *m = user_data;

  m->timeout_id = 0;
  abandon_socket (m);
  if (m->state == MQTT_RECONNECTING)
    {
      schedule_reconnect (m);
      return G_SOURCE_REMOVE;
    }
  if (m->state == MQTT_CONNECTING)
    {
      g_autofree char *text = g_strdup_printf ("Connection failed: no answer from the broker in %u ms",
                                               m->connect_timeout_ms);

      m->state = MQTT_CLOSED;
      queue_error (m, MOSQ_ERR_CONN_LOST, text);
    }
  return G_SOURCE_REMOVE;
}

static void
start_connect_timeout (Mqtt *m)
{
  g_clear_handle_id (&m->timeout_id, g_source_remove);
  if (m->connect_timeout_ms > 0)
    m->timeout_id = g_timeout_add (m->connect_timeout_ms, on_connect_timeout, m);
}

static gboolean
on_reconnect_timer (gpointer user_data)
{
  Mqtt *m = user_data;
  int rc;

  SigpipeGuard guard;

  m->reconnect_id = 0;
  sigpipe_block (&guard);
  rc = mosquitto_reconnect_async (m->mosq);
  sigpipe_restore (&guard);
  if (rc != MOSQ_ERR_SUCCESS)
    {
      schedule_reconnect (m);
      return G_SOURCE_REMOVE;
    }
  mqtt_watch_socket (m);
  start_connect_timeout (m);
  return G_SOURCE_REMOVE;
}

/* ---------- Lua: the client ---------- */

static Mqtt *
check_mqtt (lua_State *L)
{
  MqttBox *box = luaL_checkudata (L, 1, MQTT_META);

  if (box->mqtt == NULL)
    luaL_error (L, "MQTT client already collected");
  return box->mqtt;
}

static const char *
opt_string (lua_State  *L,
            int         idx,
            const char *key)
{
  const char *s;

  lua_getfield (L, idx, key);
  s = lua_isnil (L, -1) ? NULL : luaL_checkstring (L, -1);
  lua_pop (L, 1);   /* the string stays alive in the options table */
  return s;
}

static lua_Integer
opt_integer (lua_State   *L,
             int          idx,
             const char  *key,
             lua_Integer  def,
             lua_Integer  min,
             lua_Integer  max)
{
  lua_Integer v;
  int isnum;

  lua_getfield (L, idx, key);
  v = lua_isnil (L, -1) ? def : lua_tointegerx (L, -1, &isnum);
  if (!lua_isnil (L, -1) && (!isnum || v < min || v > max))
    luaL_error (L, "option %s: an integer from %I to %I expected", key, min, max);
  lua_pop (L, 1);
  return v;
}

static gboolean
opt_boolean (lua_State  *L,
             int         idx,
             const char *key,
             gboolean    def)
{
  gboolean v;

  lua_getfield (L, idx, key);
  v = lua_isnil (L, -1) ? def : lua_toboolean (L, -1);
  lua_pop (L, 1);
  return v;
}

/* A certificate or key: PEM text is written to a private file for
 * libmosquitto (which reads files); anything else is a file name. */
static const char *
tls_file (lua_State  *L,
          Mqtt       *m,
          int         idx,
          const char *key)
{
  const char *value = opt_string (L, idx, key);
  g_autoptr(GError) error = NULL;
  char *path;

  if (value == NULL)
    return NULL;
  if (strstr (value, "-----BEGIN") == NULL)
    {
      if (!g_file_test (value, G_FILE_TEST_IS_REGULAR))
        luaL_error (L, "option %s: no PEM text and no file '%s'", key, value);
      return value;
    }
  if (m->tmpdir == NULL && (m->tmpdir = g_dir_make_tmp ("plua-mqtt-XXXXXX", &error)) == NULL)
    luaL_error (L, "option %s: %s", key, error->message);
  path = g_build_filename (m->tmpdir, key, NULL);
  if (!g_file_set_contents_full (path, value, -1, G_FILE_SET_CONTENTS_NONE, 0600, &error))
    {
      g_free (path);
      luaL_error (L, "option %s: %s", key, error->message);
    }
  lua_pushstring (L, path);
  g_free (path);
  /* Anchored in the options table, so the pointer stays valid. */
  lua_pushvalue (L, -1);
  lua_setfield (L, idx, key);
  return lua_tostring (L, -1);
}

static void
setup_tls (lua_State *L,
           Mqtt      *m,
           int        idx)
{
  const char *ca = tls_file (L, m, idx, "certificateAuthority");
  const char *cert = tls_file (L, m, idx, "clientCertificate");
  const char *key = tls_file (L, m, idx, "clientKey");
  int rc;

  if ((cert == NULL) != (key == NULL))
    luaL_error (L, "options clientCertificate and clientKey go together");
  if (ca == NULL)
    mosquitto_int_option (m->mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
  rc = mosquitto_tls_set (m->mosq, ca, ca == NULL ? "/etc/ssl/certs" : NULL, cert, key, NULL);
  if (rc != MOSQ_ERR_SUCCESS)
    luaL_error (L, "TLS setup: %s", mosquitto_strerror (rc));
}

static void
setup_will (lua_State *L,
            Mqtt      *m,
            int        idx)
{
  size_t len = 0;
  const char *topic;
  const char *payload;
  int qos;
  int rc;

  lua_getfield (L, idx, "lastWill");
  if (lua_isnil (L, -1))
    {
      lua_pop (L, 1);
      return;
    }
  luaL_argexpected (L, lua_istable (L, -1), idx, "lastWill as a table");
  idx = lua_gettop (L);
  topic = opt_string (L, idx, "topic");
  lua_getfield (L, idx, "payload");
  payload = luaL_optlstring (L, -1, "", &len);
  qos = opt_integer (L, idx, "qos", 0, 0, 2);
  if (topic == NULL)
    luaL_error (L, "lastWill: topic expected");
  rc = mosquitto_will_set (m->mosq, topic, (int) len, payload, qos, opt_boolean (L, idx, "retain", FALSE));
  if (rc != MOSQ_ERR_SUCCESS)
    luaL_error (L, "lastWill: %s", mosquitto_strerror (rc));
  lua_pop (L, 2);
}

static void
setup_callbacks (Mqtt *m)
{
  mosquitto_connect_v5_callback_set (m->mosq, on_connect);
  mosquitto_disconnect_v5_callback_set (m->mosq, on_disconnect);
  mosquitto_message_v5_callback_set (m->mosq, on_message);
  mosquitto_publish_v5_callback_set (m->mosq, on_publish);
  mosquitto_subscribe_v5_callback_set (m->mosq, on_subscribe);
  mosquitto_unsubscribe_v5_callback_set (m->mosq, on_unsubscribe);
  mosquitto_log_callback_set (m->mosq, on_log);
}

/* mqtt.client(options, listeners) → conn */
static int
l_client (lua_State *L)
{
  const char *client_id;
  const char *username;
  MqttBox *box;
  Mqtt *m;

  luaL_checktype (L, 1, LUA_TTABLE);
  luaL_checktype (L, 2, LUA_TTABLE);
  lua_settop (L, 2);
  client_id = opt_string (L, 1, "clientId");

  box = lua_newuserdatauv (L, sizeof (MqttBox), 1);
  box->mqtt = NULL;
  luaL_setmetatable (L, MQTT_META);

  m = g_new0 (Mqtt, 1);
  m->ref_count = 1;
  m->runtime = plua_runtime_from_lua (L);
  m->L = plua_runtime_get_state (m->runtime);
  m->self_ref = LUA_NOREF;
  m->publish_mid = -1;
  m->queued = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  g_queue_init (&m->events);
  box->mqtt = m;

  m->mosq = mosquitto_new (client_id, opt_boolean (L, 1, "cleanSession", TRUE), m);
  if (m->mosq == NULL)
    return luaL_error (L, "MQTT client: %s", g_strerror (errno));
  mosquitto_int_option (m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  setup_callbacks (m);

  m->keepalive = opt_integer (L, 1, "keepAlivePeriod", 60, 0, 65535);
  if (m->keepalive > 0 && m->keepalive < 5)
    m->keepalive = 5;   /* libmosquitto's floor */
  m->connect_timeout_ms = opt_integer (L, 1, "connectTimeout", 10000, 0, G_MAXINT);
  m->reconnect_wanted = opt_boolean (L, 1, "reconnect", TRUE);
  m->reconnect_delay_ms = opt_integer (L, 1, "reconnectDelay", 1000, 10, G_MAXINT);
  m->reconnect_delay_max_ms = opt_integer (L, 1, "reconnectDelayMax", 30000, 10, G_MAXINT);
  m->reconnect_delay_max_ms = MAX (m->reconnect_delay_max_ms, m->reconnect_delay_ms);
  m->next_delay_ms = m->reconnect_delay_ms;
  m->max_queued_bytes = opt_integer (L, 1, "maxQueuedBytes", DEFAULT_MAX_QUEUED, 1, G_MAXINT);

  username = opt_string (L, 1, "username");
  if (username != NULL)
    mosquitto_username_pw_set (m->mosq, username, opt_string (L, 1, "password"));
  setup_will (L, m, 1);
  if (opt_boolean (L, 1, "tls", FALSE))
    setup_tls (L, m, 1);

  lua_pushvalue (L, 2);
  m->listeners_ref = luaL_ref (L, LUA_REGISTRYINDEX);
  lua_pushvalue (L, 3);   /* the userdata, under what the options left */
  return 1;
}

/* conn:connect(host, port) → true | nil, message */
static int
l_connect (lua_State *L)
{
  Mqtt *m = check_mqtt (L);
  const char *host = luaL_checkstring (L, 2);
  lua_Integer port = luaL_checkinteger (L, 3);
  SigpipeGuard guard;
  int rc;

  luaL_argcheck (L, port > 0 && port < 65536, 3, "port out of range");
  if (m->state != MQTT_IDLE && m->state != MQTT_CLOSED)
    {
      lua_pushnil (L);
      lua_pushstring (L, "Already connected");
      return 2;
    }
  g_free (m->host);
  m->host = g_strdup (host);
  m->port = port;
  g_clear_pointer (&m->last_log_error, g_free);
  m->reconnect = m->reconnect_wanted;
  m->next_delay_ms = m->reconnect_delay_ms;
  sigpipe_block (&guard);
  rc = mosquitto_connect_async (m->mosq, host, port, m->keepalive);
  sigpipe_restore (&guard);
  if (rc != MOSQ_ERR_SUCCESS)
    {
      g_autofree char *why = describe_error (m, rc);

      lua_pushnil (L);
      lua_pushfstring (L, "Connection failed: %s", why);
      return 2;
    }
  m->state = MQTT_CONNECTING;
  plua_net_hold (L, 1, m->runtime, PLUA_PENDING_SOCKET, &m->held, &m->self_ref);
  mqtt_watch_socket (m);
  start_connect_timeout (m);
  lua_pushboolean (L, TRUE);
  return 1;
}

/* The topics of a subscribe or unsubscribe: an array of strings at idx. */
static char **
check_topics (lua_State *L,
              int        idx,
              int       *count)
{
  lua_Integer n;
  char **topics;

  luaL_checktype (L, idx, LUA_TTABLE);
  n = luaL_len (L, idx);
  luaL_argcheck (L, n > 0 && n < 65536, idx, "one topic or more expected");
  topics = g_new0 (char *, n + 1);
  for (lua_Integer i = 1; i <= n; i++)
    {
      lua_rawgeti (L, idx, i);
      if (lua_type (L, -1) != LUA_TSTRING)
        {
          g_strfreev (topics);
          luaL_error (L, "topic %I: a string expected", i);
        }
      topics[i - 1] = g_strdup (lua_tostring (L, -1));
      lua_pop (L, 1);
    }
  *count = n;
  return topics;
}

/* Requests can be queued while connecting; not before nor after. */
static gboolean
check_open (lua_State *L,
            Mqtt      *m)
{
  if (m->state != MQTT_IDLE && m->state != MQTT_CLOSED && m->state != MQTT_DISCONNECTING)
    return TRUE;
  lua_pushnil (L);
  lua_pushstring (L, "Not connected");
  return FALSE;
}

static int
push_result (lua_State *L,
             Mqtt      *m,
             int        rc,
             int        mid)
{
  g_autofree char *why = NULL;

  if (rc == MOSQ_ERR_SUCCESS)
    {
      lua_pushinteger (L, mid);
      return 1;
    }
  why = describe_error (m, rc);
  lua_pushnil (L);
  lua_pushstring (L, why);
  return 2;
}

/* conn:subscribe({topic...}, qos) → packet id | nil, message */
static int
l_subscribe (lua_State *L)
{
  Mqtt *m = check_mqtt (L);
  int qos = luaL_optinteger (L, 3, 0);
  int count;
  int mid = 0;
  g_auto(GStrv) topics = NULL;
  SigpipeGuard guard;
  int rc;

  luaL_argcheck (L, qos >= 0 && qos <= 2, 3, "QoS 0, 1 or 2 expected");
  topics = check_topics (L, 2, &count);
  if (!check_open (L, m))
    return 2;
  sigpipe_block (&guard);
  rc = mosquitto_subscribe_multiple (m->mosq, &mid, count, topics, qos, 0, NULL);
  sigpipe_restore (&guard);
  return push_result (L, m, rc, mid);
}

/* conn:unsubscribe({topic...}) → packet id | nil, message */
static int
l_unsubscribe (lua_State *L)
{
  Mqtt *m = check_mqtt (L);
  int count;
  int mid = 0;
  g_auto(GStrv) topics = check_topics (L, 2, &count);
  SigpipeGuard guard;
  int rc;

  if (!check_open (L, m))
    return 2;
  sigpipe_block (&guard);
  rc = mosquitto_unsubscribe_multiple (m->mosq, &mid, count, topics, NULL);
  sigpipe_restore (&guard);
  return push_result (L, m, rc, mid);
}

/* conn:publish(topic, payload, qos, retain) → packet id | nil, message */
static int
l_publish (lua_State *L)
{
  Mqtt *m = check_mqtt (L);
  const char *topic = luaL_checkstring (L, 2);
  size_t len;
  const char *payload = luaL_checklstring (L, 3, &len);
  int qos = luaL_optinteger (L, 4, 0);
  gboolean retain = lua_toboolean (L, 5);
  SigpipeGuard guard;
  int rc;

  luaL_argcheck (L, qos >= 0 && qos <= 2, 4, "QoS 0, 1 or 2 expected");
  /* QoS 0 is not kept for later; QoS 1 and 2 go out once connected. */
  if (qos == 0 && m->state != MQTT_CONNECTED)
    {
      lua_pushnil (L);
      lua_pushstring (L, "Not connected");
      return 2;
    }
  if (!check_open (L, m))
    return 2;
  if (m->queued_bytes + len > m->max_queued_bytes || g_hash_table_size (m->queued) >= MAX_QUEUED_MESSAGES)
    {
      lua_pushnil (L);
      lua_pushliteral (L, "send queue full: messages are published faster than the broker takes them");
      return 2;
    }
  m->publish_mid = 0;
  m->publish_sent = FALSE;
  sigpipe_block (&guard);
  rc = mosquitto_publish (m->mosq, &m->publish_mid, topic, (int) len, payload, qos, retain);
  sigpipe_restore (&guard);
  /* Between connections libmosquitto keeps a QoS 1 or 2 message for the next
   * one, while saying "no connection". */
  if (rc == MOSQ_ERR_NO_CONN && qos > 0 && m->state == MQTT_RECONNECTING)
    rc = MOSQ_ERR_SUCCESS;
  if (rc == MOSQ_ERR_SUCCESS && !m->publish_sent)
    {
      Queued *q = g_new (Queued, 1);

      q->size = len + strlen (topic);
      q->qos = qos;
      m->queued_bytes += q->size;
      g_hash_table_replace (m->queued, GINT_TO_POINTER (m->publish_mid), q);
    }
  lua_settop (L, 0);
  rc = push_result (L, m, rc, m->publish_mid);
  m->publish_mid = -1;
  return rc;
}

static gboolean
on_disconnect_timeout (gpointer user_data)
{
  Mqtt *m = user_data;

  m->timeout_id = 0;
  abandon_socket (m);
  m->state = MQTT_CLOSED;
  queue_event (m, EV_CLOSED, 0)->message = g_strdup ("disconnected (the broker took nothing more)");
  return G_SOURCE_REMOVE;
}

/* conn:disconnect(): "closed" follows. */
static int
l_disconnect (lua_State *L)
{
  Mqtt *m = check_mqtt (L);
  SigpipeGuard guard;

  switch (m->state)
    {
    case MQTT_IDLE:
    case MQTT_CLOSED:
    case MQTT_DISCONNECTING:
      break;
    case MQTT_RECONNECTING:
    case MQTT_CONNECTING:
      /* Nothing to say goodbye on. */
      g_clear_handle_id (&m->reconnect_id, g_source_remove);
      abandon_socket (m);
      m->state = MQTT_CLOSED;
      queue_event (m, EV_CLOSED, 0)->message = g_strdup ("disconnected");
      break;
    case MQTT_CONNECTED:
      m->state = MQTT_DISCONNECTING;
      /* Writes DISCONNECT (on_disconnect then runs) or queues it behind what
       * waits: a peer that reads nothing gets DISCONNECT_GRACE_MS. */
      sigpipe_block (&guard);
      mosquitto_disconnect (m->mosq);
      sigpipe_restore (&guard);
      if (m->state == MQTT_DISCONNECTING)
        m->timeout_id = g_timeout_add (DISCONNECT_GRACE_MS, on_disconnect_timeout, m);
      break;
    }
  return 0;
}

static int
l_state (lua_State *L)
{
  lua_pushstring (L, state_name (check_mqtt (L)->state));
  return 1;
}

static int
l_tostring (lua_State *L)
{
  Mqtt *m = check_mqtt (L);

  if (m->host == NULL)
    lua_pushfstring (L, "MQTT client (%s)", state_name (m->state));
  else
    lua_pushfstring (L, "MQTT client %s:%d (%s)", m->host, m->port, state_name (m->state));
  return 1;
}

static int
l_gc (lua_State *L)
{
  MqttBox *box = luaL_checkudata (L, 1, MQTT_META);
  Mqtt *m = box->mqtt;

  if (m == NULL)
    return 0;
  box->mqtt = NULL;
  m->dead = TRUE;
  plua_net_release (L, m->runtime, PLUA_PENDING_SOCKET, &m->held, &m->self_ref, FALSE);
  luaL_unref (L, LUA_REGISTRYINDEX, m->listeners_ref);
  m->listeners_ref = LUA_NOREF;
  mqtt_unref (m);
  return 0;
}

static int
l_close (lua_State *L)
{
  return l_disconnect (L);
}

static int
l_open (lua_State *L)
{
  static const luaL_Reg methods[] = {
    { "connect", l_connect },
    { "subscribe", l_subscribe },
    { "unsubscribe", l_unsubscribe },
    { "publish", l_publish },
    { "disconnect", l_disconnect },
    { "state", l_state },
    { "set_owner", plua_net_set_owner },
    { NULL, NULL },
  };
  static const luaL_Reg funcs[] = {
    { "client", l_client },
    { NULL, NULL },
  };
  static gsize initialized;

  if (g_once_init_enter (&initialized))
    {
      mosquitto_lib_init ();
      g_once_init_leave (&initialized, 1);
    }
  plua_net_new_class (L, MQTT_META, methods, l_tostring, l_gc, l_close);
  luaL_newlib (L, funcs);
  return 1;
}

static const PluaMqttModule table = {
  .abi = PLUA_MQTT_MODULE_ABI,
  .open = l_open,
};

G_MODULE_EXPORT const PluaMqttModule *plua_mqtt_module_query (void);

G_MODULE_EXPORT const PluaMqttModule *
plua_mqtt_module_query (void)
{
  return &table;
}

/* plua-net-tcp.c: the C half of net.TCPSocket and net.TCPServer.
 *
 * `require "plua.tcp"` (a preload, so nothing is built unless a script uses
 * TCP) returns two constructors of small asynchronous primitives:
 *
 *   tcp.socket(timeout_ms, read_size) → conn
 *     conn:connect(host, port, fn(ok, err))
 *     conn:read(fn(data, err))               whatever is available, ≤ read_size
 *     conn:read_until(delim, fn(data, err))  data before delim (delim dropped)
 *     conn:write(data, fn(nbytes, err))      all bytes
 *     conn:close()                           after queued writes are flushed
 *   tcp.server() → server
 *     server:start(host, port, fn(conn, ip, port))  raises on bind failure
 *     server:stop(), server:port()
 *
 * lua/net/tcp.lua builds the callback-table API on top. Each call queues an
 * operation; operations of one kind run in order, one at a time, and their
 * functions are always called later from the main loop, never inside the call.
 * Errors reach fn as (nil, message): "Connection refused", "timeout",
 * "closed" (end of stream, or the socket was closed), "Not connected", or
 * GIO's own text.
 *
 * Lifetime: a Conn is reference counted; the Lua userdata owns one reference
 * and each GIO operation in flight another, so a completion arriving after
 * the userdata was collected finds `dead` set and leaves Lua alone. While a
 * connection is open (or anything is queued on it) it holds
 * PLUA_PENDING_SOCKET and anchors its userdata in the registry, so a socket
 * the script forgot about still completes its work and keeps the run alive.
 * A started server holds PLUA_PENDING_SERVER the same way until stop().
 */
#include "config.h"

#include <string.h>

#include <gio/gio.h>
#include <lauxlib.h>

#include "plua-net-common.h"
#include "plua-net.h"
#include "plua-runtime.h"

#define CONN_META   "plua.tcp.conn"
#define SERVER_META "plua.tcp.server"

#define DEFAULT_READ_SIZE (64 * 1024)
/* readUntil keeps at most this much while looking for the delimiter. */
#define MAX_UNTIL_BUFFER  (16 * 1024 * 1024)

typedef enum
{
  CONN_NEW,
  CONN_CONNECTING,
  CONN_OPEN,
  CONN_CLOSING,     /* close() called, queued writes still being flushed */
  CONN_CLOSED,
} ConnState;

typedef enum
{
  OP_READ,
  OP_READ_UNTIL,
  OP_WRITE,
} OpKind;

typedef struct
{
  OpKind      kind;
  int         fn_ref;
  char       *delim;
  gsize       delim_len;
  GBytes     *data;
  const char *error;     /* fail with this when its turn comes */
} Op;

typedef struct
{
  gint               ref_count;
  PluaRuntime       *runtime;
  lua_State         *L;           /* the main state */
  ConnState          state;
  gboolean           dead;        /* userdata gone: never touch Lua again */
  gboolean           eof;         /* the peer closed its side */
  gboolean           eof_reported;
  gboolean           held;
  int                self_ref;    /* anchors the userdata while held */
  guint              timeout_ms;
  gsize              read_size;
  char              *target;      /* "host:port" asked for, or the peer */
  GSocketClient     *client;
  GSocketConnection *connection;
  int                connect_ref;
  GCancellable      *connect_cancel;
  GQueue             reads;
  GQueue             writes;
  gboolean           reading;
  gboolean           writing;
  GCancellable      *read_cancel;
  GCancellable      *write_cancel;
  guint              timeout_id;
  gboolean           timed_out;
  guint              idle_id;
  GByteArray        *rbuf;        /* received, not yet delivered */
  guint8            *chunk;       /* target of the read in flight */
} Conn;

typedef struct
{
  Conn *conn;
} ConnBox;

typedef struct
{
  PluaRuntime    *runtime;
  lua_State      *L;
  GSocketService *service;
  gulong          incoming_id;
  int             fn_ref;
  int             self_ref;
  char           *address;
  guint16         port;
} Server;

static void conn_pump (Conn *c);

/* ---------- helpers ---------- */

/* The message a Lua error callback gets for a GIO error. */
static const char *
error_text (const GError *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    return "Connection refused";
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return "timeout";
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED))
    return "closed";
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE))
    return "Host unreachable";
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE))
    return "Network unreachable";
  return error->message;
}

static lua_State *
main_state (lua_State *L)
{
  return plua_runtime_get_state (plua_runtime_from_lua (L));
}

static int
check_port (lua_State *L,
            int        arg,
            gboolean   allow_zero)
{
  lua_Integer port = luaL_checkinteger (L, arg);

  if (port < (allow_zero ? 0 : 1) || port > 65535)
    luaL_argerror (L, arg, "port out of range");
  return (int) port;
}

/* ---------- operations ---------- */

static void
op_free (lua_State *L,
         Op        *op)
{
  if (L != NULL)
    luaL_unref (L, LUA_REGISTRYINDEX, op->fn_ref);
  g_free (op->delim);
  g_clear_pointer (&op->data, g_bytes_unref);
  g_free (op);
}

static void
drop_ops (Conn   *c,
          GQueue *queue)
{
  Op *op;

  while ((op = g_queue_pop_head (queue)) != NULL)
    op_free (c->dead ? NULL : c->L, op);
}

/* Frees op and calls its function through the runtime: fn(data, nil) when
 * data is given, fn(count, nil) otherwise, or fn(nil, error). */
static void
op_finish (Conn       *c,
           Op         *op,
           const char *data,
           gsize       len,
           lua_Integer count,
           const char *error)
{
  lua_State *L = c->L;
  int fn_ref = op->fn_ref;

  op->fn_ref = LUA_NOREF;
  op_free (L, op);
  lua_rawgeti (L, LUA_REGISTRYINDEX, fn_ref);
  luaL_unref (L, LUA_REGISTRYINDEX, fn_ref);
  if (error != NULL)
    {
      lua_pushnil (L);
      lua_pushstring (L, error);
    }
  else
    {
      if (data != NULL)
        lua_pushlstring (L, data, len);
      else
        lua_pushinteger (L, count);
      lua_pushnil (L);
    }
  plua_runtime_spawn (c->runtime, L, 2, PLUA_SPAWN_DEFAULT, NULL, NULL);
}

/* ---------- the connection object ---------- */

static Conn *
conn_ref (Conn *c)
{
  c->ref_count++;
  return c;
}

static void
conn_unref (gpointer data)
{
  Conn *c = data;

  if (--c->ref_count > 0)
    return;
  g_clear_object (&c->connection);
  g_clear_object (&c->client);
  g_clear_object (&c->connect_cancel);
  g_clear_object (&c->read_cancel);
  g_clear_object (&c->write_cancel);
  g_byte_array_unref (c->rbuf);
  g_free (c->chunk);
  g_free (c->target);
  g_free (c);
}

static Conn *
conn_new (lua_State *L,
          guint      timeout_ms,
          gsize      read_size)
{
  Conn *c = g_new0 (Conn, 1);

  c->ref_count = 1;
  c->runtime = plua_runtime_from_lua (L);
  c->L = main_state (L);
  c->self_ref = LUA_NOREF;
  c->connect_ref = LUA_NOREF;
  c->timeout_ms = timeout_ms;
  c->read_size = read_size;
  c->rbuf = g_byte_array_new ();
  g_queue_init (&c->reads);
  g_queue_init (&c->writes);
  return c;
}

static void
conn_push_new (lua_State *L,
               Conn      *c)
{
  ConnBox *box = lua_newuserdatauv (L, sizeof (ConnBox), 1);

  box->conn = c;
  luaL_setmetatable (L, CONN_META);
}

static Conn *
check_conn (lua_State *L)
{
  ConnBox *box = luaL_checkudata (L, 1, CONN_META);

  return box->conn;
}

static gboolean
conn_wants_hold (Conn *c)
{
  if (c->dead)
    return FALSE;
  if (c->reads.length > 0 || c->writes.length > 0)
    return TRUE;
  return c->state == CONN_CONNECTING
         || c->state == CONN_CLOSING
         || (c->state == CONN_OPEN && !c->eof_reported);
}

/* Called from a method with the conn's userdata at index 1: starts holding
 * the run (and anchors the userdata) when the conn now has work. */
static void
conn_hold_from_lua (lua_State *L,
                    Conn      *c)
{
  if (conn_wants_hold (c))
    plua_net_hold (L, 1, c->runtime, PLUA_PENDING_SOCKET, &c->held, &c->self_ref);
}

/* Lets go of the run and of the anchor once the conn has nothing to do. */
static void
conn_update_hold (Conn *c)
{
  if (!conn_wants_hold (c))
    plua_net_release (c->L, c->runtime, PLUA_PENDING_SOCKET, &c->held, &c->self_ref, !c->dead);
}

static void
conn_disarm_timeout (Conn *c)
{
  g_clear_handle_id (&c->timeout_id, g_source_remove);
  c->timed_out = FALSE;
}

static gboolean
on_timeout (gpointer data)
{
  Conn *c = data;

  c->timeout_id = 0;
  c->timed_out = TRUE;
  if (c->state == CONN_CONNECTING && c->connect_cancel != NULL)
    g_cancellable_cancel (c->connect_cancel);
  else if (c->reading && c->read_cancel != NULL)
    g_cancellable_cancel (c->read_cancel);
  return G_SOURCE_REMOVE;
}

static void
conn_arm_timeout (Conn *c)
{
  if (c->timeout_ms == 0 || c->timeout_id != 0)
    return;
  c->timed_out = FALSE;
  c->timeout_id = g_timeout_add (c->timeout_ms, on_timeout, c);
}

/* The hard stop: cancels everything, closes the socket. */
static void
conn_shutdown (Conn *c)
{
  if (c->connect_cancel != NULL)
    g_cancellable_cancel (c->connect_cancel);
  if (c->read_cancel != NULL)
    g_cancellable_cancel (c->read_cancel);
  if (c->write_cancel != NULL)
    g_cancellable_cancel (c->write_cancel);
  if (c->connection != NULL)
    g_socket_close (g_socket_connection_get_socket (c->connection), NULL);
  g_clear_handle_id (&c->timeout_id, g_source_remove);
  c->state = CONN_CLOSED;
}

static void
conn_schedule (Conn *c);

/* close(): reads and a pending connect are cancelled (their functions are
 * not called); queued writes are flushed first, then the socket closes. */
static void
conn_close (Conn *c)
{
  if (c->state == CONN_CLOSED || c->state == CONN_CLOSING)
    return;
  if (!c->dead)
    luaL_unref (c->L, LUA_REGISTRYINDEX, c->connect_ref);
  c->connect_ref = LUA_NOREF;
  drop_ops (c, &c->reads);
  if (c->reading && c->read_cancel != NULL)
    g_cancellable_cancel (c->read_cancel);
  if (c->state == CONN_CONNECTING)
    g_cancellable_cancel (c->connect_cancel);
  conn_disarm_timeout (c);

  if (c->state == CONN_OPEN && (c->writing || c->writes.length > 0))
    c->state = CONN_CLOSING;
  else
    conn_shutdown (c);
  conn_schedule (c);
}

static gboolean
on_idle (gpointer data)
{
  Conn *c = data;

  c->idle_id = 0;
  conn_pump (c);
  if (!c->dead)
    plua_runtime_dispatched (c->runtime);
  return G_SOURCE_REMOVE;
}

/* Operations queued from Lua run from the main loop, never inside the call. */
static void
conn_schedule (Conn *c)
{
  if (c->idle_id != 0 || c->dead)
    return;
  c->idle_id = g_idle_add_full (G_PRIORITY_DEFAULT, on_idle, conn_ref (c), conn_unref);
}

/* ---------- reading ---------- */

static void
on_read (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  Conn *c = data;
  g_autoptr(GError) error = NULL;
  gssize n;
  gboolean timed_out;

  n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  c->reading = FALSE;
  if (c->dead || c->state == CONN_CLOSED || c->state == CONN_CLOSING)
    {
      conn_unref (c);
      return;
    }

  timed_out = c->timed_out;
  if (n > 0)
    g_byte_array_append (c->rbuf, c->chunk, (guint) n);
  else if (n == 0)
    c->eof = TRUE;
  else
    {
      Op *op = g_queue_pop_head (&c->reads);

      conn_disarm_timeout (c);
      if (op == NULL)
        ;
      else if (timed_out && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        op_finish (c, op, NULL, 0, 0, "timeout");
      else
        {
          const char *text = error_text (error);

          /* A reset connection is over, like an end of stream. */
          if (strcmp (text, "closed") == 0)
            {
              c->eof = TRUE;
              c->eof_reported = TRUE;
            }
          op_finish (c, op, NULL, 0, 0, text);
        }
    }

  conn_pump (c);
  if (!c->dead)
    plua_runtime_dispatched (c->runtime);
  conn_unref (c);
}

static void
conn_start_read (Conn *c)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (c->connection));

  if (c->chunk == NULL)
    c->chunk = g_malloc (c->read_size);
  g_clear_object (&c->read_cancel);
  c->read_cancel = g_cancellable_new ();
  c->reading = TRUE;
  conn_arm_timeout (c);
  g_input_stream_read_async (in, c->chunk, c->read_size, G_PRIORITY_DEFAULT,
                             c->read_cancel, on_read, conn_ref (c));
}

static gboolean
find_delim (GByteArray *buf,
            const Op   *op,
            gsize      *pos)
{
  if (buf->len < op->delim_len)
    return FALSE;
  for (gsize i = 0; i + op->delim_len <= buf->len; i++)
    {
      const guint8 *p = memchr (buf->data + i, op->delim[0], buf->len - i - op->delim_len + 1);

      if (p == NULL)
        return FALSE;
      i = (gsize) (p - buf->data);
      if (memcmp (p, op->delim, op->delim_len) == 0)
        {
          *pos = i;
          return TRUE;
        }
    }
  return FALSE;
}

/* Serves queued reads from the buffer; starts a socket read when the head
 * needs more data. Returns when a read is in flight or nothing is queued. */
static void
conn_pump_reads (Conn *c)
{
  Op *op;

  while (!c->dead && !c->reading && (op = g_queue_peek_head (&c->reads)) != NULL)
    {
      gsize pos;

      if (c->state == CONN_CONNECTING)
        return;
      if (c->state != CONN_OPEN || op->error != NULL)
        {
          g_queue_pop_head (&c->reads);
          op_finish (c, op, NULL, 0, 0,
                     op->error != NULL ? op->error :
                     c->state == CONN_NEW ? "Not connected" : "closed");
          continue;
        }
      if (op->kind == OP_READ && c->rbuf->len > 0)
        {
          gsize n = MIN (c->rbuf->len, c->read_size);
          g_autofree char *data = g_memdup2 (c->rbuf->data, n);

          g_byte_array_remove_range (c->rbuf, 0, (guint) n);
          g_queue_pop_head (&c->reads);
          conn_disarm_timeout (c);
          op_finish (c, op, data, n, 0, NULL);
          continue;
        }
      if (op->kind == OP_READ_UNTIL && find_delim (c->rbuf, op, &pos))
        {
          g_autofree char *data = g_memdup2 (c->rbuf->data, pos);

          g_byte_array_remove_range (c->rbuf, 0, (guint) (pos + op->delim_len));
          g_queue_pop_head (&c->reads);
          conn_disarm_timeout (c);
          op_finish (c, op, data, pos, 0, NULL);
          continue;
        }
      if (op->kind == OP_READ_UNTIL && c->rbuf->len > MAX_UNTIL_BUFFER)
        {
          g_queue_pop_head (&c->reads);
          conn_disarm_timeout (c);
          op_finish (c, op, NULL, 0, 0, "delimiter not found in 16 MiB");
          continue;
        }
      if (c->eof)
        {
          /* Buffered bytes without a delimiter stay for read(). */
          g_queue_pop_head (&c->reads);
          conn_disarm_timeout (c);
          c->eof_reported = TRUE;
          op_finish (c, op, NULL, 0, 0, "closed");
          continue;
        }
      conn_start_read (c);
    }
}

/* ---------- writing ---------- */

static void
conn_pump_writes (Conn *c);

static void
on_written (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  Conn *c = data;
  g_autoptr(GError) error = NULL;
  gsize written = 0;
  Op *op;

  g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, &written, &error);
  c->writing = FALSE;
  if (c->dead)
    {
      conn_unref (c);
      return;
    }

  op = g_queue_pop_head (&c->writes);
  if (error != NULL)
    op_finish (c, op, NULL, 0, 0, error_text (error));
  else
    op_finish (c, op, NULL, 0, (lua_Integer) written, NULL);

  conn_pump (c);
  if (!c->dead)
    plua_runtime_dispatched (c->runtime);
  conn_unref (c);
}

static void
conn_pump_writes (Conn *c)
{
  Op *op;

  while (!c->dead && !c->writing && (op = g_queue_peek_head (&c->writes)) != NULL)
    {
      GOutputStream *out;
      const void *bytes;
      gsize len;

      if (c->state == CONN_CONNECTING)
        return;
      if ((c->state != CONN_OPEN && c->state != CONN_CLOSING) || op->error != NULL)
        {
          g_queue_pop_head (&c->writes);
          op_finish (c, op, NULL, 0, 0,
                     op->error != NULL ? op->error :
                     c->state == CONN_NEW ? "Not connected" : "closed");
          continue;
        }
      out = g_io_stream_get_output_stream (G_IO_STREAM (c->connection));
      bytes = g_bytes_get_data (op->data, &len);
      g_clear_object (&c->write_cancel);
      c->write_cancel = g_cancellable_new ();
      c->writing = TRUE;
      g_output_stream_write_all_async (out, bytes, len, G_PRIORITY_DEFAULT,
                                       c->write_cancel, on_written, conn_ref (c));
    }

  if (!c->dead && c->state == CONN_CLOSING && !c->writing && c->writes.length == 0)
    conn_shutdown (c);
}

static void
conn_pump (Conn *c)
{
  conn_ref (c);   /* a callback may drop the last Lua reference */
  conn_pump_reads (c);
  conn_pump_writes (c);
  conn_pump_reads (c);   /* a write callback may have queued reads */
  conn_update_hold (c);
  conn_unref (c);
}

/* ---------- connecting ---------- */

static void
on_connected (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  Conn *c = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  lua_State *L = c->L;
  int fn_ref;

  connection = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (source), result, &error);
  if (c->dead || c->state != CONN_CONNECTING)
    {
      if (connection != NULL)
        g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      conn_unref (c);
      return;
    }

  fn_ref = c->connect_ref;
  c->connect_ref = LUA_NOREF;
  lua_rawgeti (L, LUA_REGISTRYINDEX, fn_ref);
  luaL_unref (L, LUA_REGISTRYINDEX, fn_ref);
  if (connection != NULL)
    {
      g_autoptr(GSocketAddress) peer = g_socket_connection_get_remote_address (connection, NULL);

      conn_disarm_timeout (c);
      c->connection = g_steal_pointer (&connection);
      c->state = CONN_OPEN;
      g_free (c->target);
      c->target = plua_net_address_to_string (peer, NULL, NULL);
      lua_pushboolean (L, TRUE);
      lua_pushnil (L);
    }
  else
    {
      gboolean timed_out = c->timed_out;

      conn_disarm_timeout (c);
      c->state = CONN_NEW;
      lua_pushnil (L);
      if (timed_out && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        lua_pushliteral (L, "timeout");
      else
        lua_pushstring (L, error_text (error));
    }
  g_clear_error (&error);

  conn_ref (c);
  plua_runtime_spawn (c->runtime, L, 2, PLUA_SPAWN_DEFAULT, NULL, NULL);
  conn_pump (c);
  if (!c->dead)
    plua_runtime_dispatched (c->runtime);
  conn_unref (c);
  conn_unref (c);
}

/* conn:connect(host, port, fn(ok, err)) */
static int
l_conn_connect (lua_State *L)
{
  Conn *c = check_conn (L);
  const char *host = luaL_checkstring (L, 2);
  int port = check_port (L, 3, FALSE);

  luaL_checktype (L, 4, LUA_TFUNCTION);
  if (c->state != CONN_NEW)
    return luaL_error (L, "connect: the socket is %s",
                       c->state == CONN_CONNECTING ? "already connecting" :
                       c->state == CONN_OPEN ? "already connected" : "closed");

  lua_pushvalue (L, 4);
  c->connect_ref = luaL_ref (L, LUA_REGISTRYINDEX);
  c->state = CONN_CONNECTING;
  g_free (c->target);
  c->target = strchr (host, ':') != NULL ? g_strdup_printf ("[%s]:%d", host, port)
                                         : g_strdup_printf ("%s:%d", host, port);
  if (c->client == NULL)
    c->client = g_socket_client_new ();
  g_clear_object (&c->connect_cancel);
  c->connect_cancel = g_cancellable_new ();
  conn_arm_timeout (c);
  g_socket_client_connect_to_host_async (c->client, host, (guint16) port, c->connect_cancel,
                                         on_connected, conn_ref (c));
  conn_hold_from_lua (L, c);
  return 0;
}

static Op *
queue_op (lua_State *L,
          Conn      *c,
          GQueue    *queue,
          OpKind     kind,
          int        fn_arg)
{
  Op *op = g_new0 (Op, 1);

  luaL_checktype (L, fn_arg, LUA_TFUNCTION);
  op->kind = kind;
  lua_pushvalue (L, fn_arg);
  op->fn_ref = luaL_ref (L, LUA_REGISTRYINDEX);
  g_queue_push_tail (queue, op);
  return op;
}

static void
op_queued (lua_State *L,
           Conn      *c)
{
  conn_schedule (c);
  conn_hold_from_lua (L, c);
}

/* conn:read(fn(data, err)) */
static int
l_conn_read (lua_State *L)
{
  Conn *c = check_conn (L);
  Op *op = queue_op (L, c, &c->reads, OP_READ, 2);

  if (c->state == CONN_CLOSING || c->state == CONN_CLOSED)
    op->error = "closed";
  op_queued (L, c);
  return 0;
}

/* conn:read_until(delimiter, fn(data, err)) */
static int
l_conn_read_until (lua_State *L)
{
  Conn *c = check_conn (L);
  size_t len;
  const char *delim = luaL_checklstring (L, 2, &len);
  Op *op;

  luaL_argcheck (L, len > 0, 2, "empty delimiter");
  luaL_checktype (L, 3, LUA_TFUNCTION);
  op = queue_op (L, c, &c->reads, OP_READ_UNTIL, 3);
  op->delim = g_memdup2 (delim, len);
  op->delim_len = len;
  if (c->state == CONN_CLOSING || c->state == CONN_CLOSED)
    op->error = "closed";
  op_queued (L, c);
  return 0;
}

/* conn:write(data, fn(nbytes, err)) */
static int
l_conn_write (lua_State *L)
{
  Conn *c = check_conn (L);
  size_t len;
  const char *data = luaL_checklstring (L, 2, &len);
  Op *op;

  luaL_checktype (L, 3, LUA_TFUNCTION);
  op = queue_op (L, c, &c->writes, OP_WRITE, 3);
  op->data = g_bytes_new (data, len);
  if (c->state == CONN_CLOSING || c->state == CONN_CLOSED)
    op->error = "closed";
  op_queued (L, c);
  return 0;
}

/* conn:close(): also __close */
static int
l_conn_close (lua_State *L)
{
  Conn *c = check_conn (L);

  conn_close (c);
  /* Nothing is called back from here: the idle (or the end of the flush)
   * lets go of the run. */
  if (c->state == CONN_CLOSED && c->reads.length == 0 && c->writes.length == 0)
    conn_update_hold (c);
  return 0;
}

static const char *
conn_state_name (Conn *c)
{
  switch (c->state)
    {
    case CONN_NEW:        return "not connected";
    case CONN_CONNECTING: return "connecting";
    case CONN_OPEN:       return c->eof ? "closed by peer" : "connected";
    case CONN_CLOSING:    return "closing";
    case CONN_CLOSED:     return "closed";
    default:              return "?";
    }
}

/* conn:state() → "connected", "connecting", ... */
static int
l_conn_state (lua_State *L)
{
  lua_pushstring (L, conn_state_name (check_conn (L)));
  return 1;
}

static int
l_conn_tostring (lua_State *L)
{
  Conn *c = check_conn (L);

  if (c->target != NULL)
    lua_pushfstring (L, "TCPSocket %s (%s)", c->target, conn_state_name (c));
  else
    lua_pushfstring (L, "TCPSocket (%s)", conn_state_name (c));
  return 1;
}

static int
l_conn_gc (lua_State *L)
{
  ConnBox *box = luaL_checkudata (L, 1, CONN_META);
  Conn *c = box->conn;

  if (c == NULL)
    return 0;
  box->conn = NULL;
  conn_shutdown (c);
  luaL_unref (L, LUA_REGISTRYINDEX, c->connect_ref);
  c->connect_ref = LUA_NOREF;
  drop_ops (c, &c->reads);
  drop_ops (c, &c->writes);
  c->dead = TRUE;
  g_clear_handle_id (&c->idle_id, g_source_remove);
  plua_net_release (c->L, c->runtime, PLUA_PENDING_SOCKET, &c->held, &c->self_ref, FALSE);
  c->L = NULL;
  conn_unref (c);
  return 0;
}

static const luaL_Reg conn_methods[] = {
  { "connect", l_conn_connect },
  { "read", l_conn_read },
  { "read_until", l_conn_read_until },
  { "write", l_conn_write },
  { "close", l_conn_close },
  { "state", l_conn_state },
  { "set_owner", plua_net_set_owner },
  { NULL, NULL }
};

/* tcp.socket([timeout_ms [, read_size]]) */
static int
l_socket (lua_State *L)
{
  lua_Number timeout = luaL_optnumber (L, 1, 0);
  lua_Integer read_size = luaL_optinteger (L, 2, DEFAULT_READ_SIZE);

  luaL_argcheck (L, read_size > 0 && read_size <= 16 * 1024 * 1024, 2, "read size out of range");
  if (!(timeout > 0))
    timeout = 0;
  conn_push_new (L, conn_new (L, (guint) MIN (timeout, (lua_Number) G_MAXUINT), (gsize) read_size));
  return 1;
}

/* ---------- the server ---------- */

static Server *
check_server (lua_State *L)
{
  return luaL_checkudata (L, 1, SERVER_META);
}

static gboolean
on_incoming (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source_object,
             gpointer           data)
{
  Server *s = data;
  lua_State *L = s->L;
  g_autoptr(GSocketAddress) peer = g_socket_connection_get_remote_address (connection, NULL);
  Conn *c;
  guint16 port = 0;
  g_autofree char *ip = NULL;

  c = conn_new (L, 0, DEFAULT_READ_SIZE);
  c->connection = g_object_ref (connection);
  c->state = CONN_OPEN;
  c->target = plua_net_address_to_string (peer, &ip, &port);

  lua_rawgeti (L, LUA_REGISTRYINDEX, s->fn_ref);
  conn_push_new (L, c);
  /* An accepted connection holds the run until it is closed. */
  plua_net_hold (L, -1, c->runtime, PLUA_PENDING_SOCKET, &c->held, &c->self_ref);
  lua_pushstring (L, ip != NULL ? ip : "?");
  lua_pushinteger (L, port);
  plua_runtime_spawn (s->runtime, L, 3, PLUA_SPAWN_DEFAULT, NULL, NULL);
  plua_runtime_dispatched (s->runtime);
  return TRUE;
}

static void
server_stop (Server *s,
             gboolean in_gc)
{
  if (s->service == NULL)
    return;
  g_signal_handler_disconnect (s->service, s->incoming_id);
  g_socket_service_stop (s->service);
  g_socket_listener_close (G_SOCKET_LISTENER (s->service));
  g_clear_object (&s->service);
  if (!in_gc)
    {
      luaL_unref (s->L, LUA_REGISTRYINDEX, s->fn_ref);
      luaL_unref (s->L, LUA_REGISTRYINDEX, s->self_ref);
    }
  s->fn_ref = LUA_NOREF;
  s->self_ref = LUA_NOREF;
  plua_runtime_release (s->runtime, PLUA_PENDING_SERVER);
}

/* The address to listen on: an IP literal, "localhost" (127.0.0.1), "*" or
 * "0.0.0.0" (every IPv4 interface), "::" or a name resolved by the system
 * (its first address, IPv4 preferred). Never another address on failure. */
static GInetAddress *
listen_address (const char *host,
                GError    **error)
{
  GInetAddress *inet;
  g_autolist(GInetAddress) list = NULL;

  if (host == NULL || strcmp (host, "localhost") == 0)
    return g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  if (strcmp (host, "*") == 0)
    return g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  inet = g_inet_address_new_from_string (host);
  if (inet != NULL)
    return inet;
  {
    g_autoptr(GResolver) resolver = g_resolver_get_default ();

    list = g_resolver_lookup_by_name (resolver, host, NULL, error);
  }
  if (list == NULL)
    return NULL;
  for (GList *l = list; l != NULL; l = l->next)
    if (g_inet_address_get_family (l->data) == G_SOCKET_FAMILY_IPV4)
      return g_object_ref (l->data);
  return g_object_ref (list->data);
}

/* server:start(host, port, fn(conn, ip, port)): raises on failure */
static int
l_server_start (lua_State *L)
{
  Server *s = check_server (L);
  const char *host = luaL_optstring (L, 2, "localhost");
  int port = check_port (L, 3, TRUE);
  GError *error = NULL;
  GInetAddress *inet;
  GSocketAddress *address;
  GSocketAddress *effective = NULL;
  GSocketService *service;

  luaL_checktype (L, 4, LUA_TFUNCTION);
  if (s->service != NULL)
    return luaL_error (L, "TCPServer: already listening on %s", s->address);

  inet = listen_address (host, &error);
  if (inet == NULL)
    {
      lua_pushfstring (L, "TCPServer: cannot listen on %s:%d: %s", host, port, error->message);
      g_error_free (error);
      return lua_error (L);
    }
  address = g_inet_socket_address_new (inet, (guint16) port);
  g_object_unref (inet);
  service = g_socket_service_new ();
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (service), address,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                      NULL, &effective, &error))
    {
      g_object_unref (address);
      g_object_unref (service);
      lua_pushfstring (L, "TCPServer: cannot listen on %s:%d: %s", host, port, plua_net_bind_reason (error));
      g_error_free (error);
      return lua_error (L);
    }
  g_object_unref (address);

  g_free (s->address);
  s->address = plua_net_address_to_string (effective, NULL, &s->port);
  g_object_unref (effective);
  s->service = service;
  lua_pushvalue (L, 4);
  s->fn_ref = luaL_ref (L, LUA_REGISTRYINDEX);
  lua_pushvalue (L, 1);
  s->self_ref = luaL_ref (L, LUA_REGISTRYINDEX);
  s->incoming_id = g_signal_connect (service, "incoming", G_CALLBACK (on_incoming), s);
  g_socket_service_start (service);
  plua_runtime_hold (s->runtime, PLUA_PENDING_SERVER);
  lua_pushstring (L, s->address);
  return 1;
}

/* server:stop(): no more clients; connections already accepted stay open */
static int
l_server_stop (lua_State *L)
{
  server_stop (check_server (L), FALSE);
  return 0;
}

/* server:port() → the port listened on (useful after start(host, 0, fn)) */
static int
l_server_port (lua_State *L)
{
  Server *s = check_server (L);

  if (s->service == NULL)
    lua_pushnil (L);
  else
    lua_pushinteger (L, s->port);
  return 1;
}

static int
l_server_tostring (lua_State *L)
{
  Server *s = check_server (L);

  if (s->service != NULL)
    lua_pushfstring (L, "TCPServer %s (listening)", s->address);
  else
    lua_pushliteral (L, "TCPServer (stopped)");
  return 1;
}

static int
l_server_gc (lua_State *L)
{
  Server *s = check_server (L);

  server_stop (s, TRUE);
  g_clear_pointer (&s->address, g_free);
  return 0;
}

static const luaL_Reg server_methods[] = {
  { "start", l_server_start },
  { "stop", l_server_stop },
  { "port", l_server_port },
  { "set_owner", plua_net_set_owner },
  { NULL, NULL }
};

/* tcp.server() */
static int
l_server (lua_State *L)
{
  Server *s = lua_newuserdatauv (L, sizeof (Server), 1);

  memset (s, 0, sizeof (Server));
  s->runtime = plua_runtime_from_lua (L);
  s->L = main_state (L);
  s->fn_ref = LUA_NOREF;
  s->self_ref = LUA_NOREF;
  luaL_setmetatable (L, SERVER_META);
  return 1;
}

/* ---------- registration ---------- */

static int
open_core (lua_State *L)
{
  static const luaL_Reg functions[] = {
    { "socket", l_socket },
    { "server", l_server },
    { NULL, NULL }
  };

  plua_net_new_class (L, CONN_META, conn_methods, l_conn_tostring, l_conn_gc, l_conn_close);
  plua_net_new_class (L, SERVER_META, server_methods, l_server_tostring, l_server_gc, l_server_stop);
  luaL_newlib (L, functions);
  return 1;
}

int
plua_net_tcp_open (lua_State *L)
{
  plua_net_preload (L, "plua.tcp", open_core);
  return 0;
}

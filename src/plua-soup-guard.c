/* plua-soup-guard.c: hang-ups, timeouts and the connection cap for the
 * connections a PluaSoupListener accepts (see the header for why).
 *
 * When a connection can be taken from libsoup safely matters: in 3.2.3 a
 * kept-alive connection whose next request has not started yet has no
 * completion callback, and once libsoup has read the peer's EOF there its
 * state cannot be stolen (steal would dereference the freed message I/O).
 * So the hang-up watch runs at G_PRIORITY_HIGH and the close after a
 * response at G_PRIORITY_HIGH too: both are dispatched before libsoup's
 * default-priority read source sees the EOF. In every other phase libsoup
 * itself disconnects on EOF, and the guard only closes on a timeout. */
#include "config.h"

#define _GNU_SOURCE   /* POLLRDHUP */
#include <poll.h>
#include <sys/resource.h>

#include <glib-unix.h>

#include "plua-soup-guard.h"

typedef enum
{
  PHASE_IDLE,      /* kept alive, no byte of the next request yet */
  PHASE_HEADERS,   /* a request's headers are arriving (or not yet, on a new connection) */
  PHASE_BODY,      /* headers read, the body is arriving */
  PHASE_HANDLING,  /* a handler has it: a long poll, a WebSocket ... no limit */
} Phase;

typedef struct
{
  PluaSoupGuard     *guard;
  GSocket           *socket;    /* weak: gone when libsoup lets go of it */
  GSocketAddress    *remote;    /* the key: libsoup keeps this very object */
  SoupServerMessage *msg;       /* the latest message on it, to steal with */
  GSource           *hup_watch; /* in PHASE_IDLE only */
  gint64             since;     /* when the phase began (monotonic µs) */
  Phase              phase;
  gboolean           peer_gone; /* hung up with a request still to answer */
} Conn;

struct _PluaSoupGuard
{
  SoupServer *server;
  GHashTable *conns;            /* GSocketAddress* → Conn* */
  gulong      handlers[3];
  guint       sweep_id;
  GCallback   on_slot_free;
  gpointer    data;
};

static guint open_total;        /* in the whole process: the cap is on fds */

guint
plua_soup_connection_cap (void)
{
  static guint cap;

  if (cap == 0)
    {
      struct rlimit limit;
      rlim_t want;

      /* Take what the hard limit allows (up to 8192: io.popen children
       * inherit the soft limit), then leave room for files, pipes and
       * outgoing connections: a quarter, and at least 64. */
      if (getrlimit (RLIMIT_NOFILE, &limit) != 0)
        limit.rlim_cur = limit.rlim_max = 1024;
      want = MIN (limit.rlim_max, 8192);
      if (limit.rlim_cur < want)
        {
          limit.rlim_cur = want;
          setrlimit (RLIMIT_NOFILE, &limit);
          getrlimit (RLIMIT_NOFILE, &limit);
        }
      cap = limit.rlim_cur > 128 ? (guint) MIN (limit.rlim_cur - MAX (limit.rlim_cur / 4, 64), 4096) : 16;
    }
  return cap;
}

guint
plua_soup_connections_open (void)
{
  return open_total;
}

static void conn_socket_gone (gpointer data, GObject *where);

static void
conn_stop_watch (Conn *conn)
{
  if (conn->hup_watch == NULL)
    return;
  g_source_destroy (conn->hup_watch);
  g_clear_pointer (&conn->hup_watch, g_source_unref);
}

/* Forgets the connection (libsoup has let go of it, or it was closed). */
static void
conn_drop (Conn *conn)
{
  PluaSoupGuard *guard = conn->guard;

  conn_stop_watch (conn);
  if (conn->socket != NULL)
    g_object_weak_unref (G_OBJECT (conn->socket), conn_socket_gone, conn);
  if (conn->msg != NULL)
    {
      g_signal_handlers_disconnect_by_data (conn->msg, guard);
      g_object_unref (conn->msg);
    }
  g_hash_table_remove (guard->conns, conn->remote);
  g_object_unref (conn->remote);
  g_free (conn);
  open_total--;
  if (guard->on_slot_free != NULL)
    ((void (*) (gpointer)) guard->on_slot_free) (guard->data);
}

static void
conn_socket_gone (gpointer  data,
                  GObject  *where)
{
  Conn *conn = data;

  conn->socket = NULL;
  conn_drop (conn);
}

/* Takes the connection from libsoup and closes it. */
static void
conn_close (Conn *conn)
{
  g_autoptr(GIOStream) stream = NULL;

  if (conn->socket == NULL || g_socket_is_closed (conn->socket))
    {
      conn_drop (conn);
      return;
    }
  if (conn->msg != NULL)
    stream = soup_server_message_steal_connection (conn->msg);
  if (stream != NULL)
    g_io_stream_close (stream, NULL, NULL);
  else
    g_socket_close (conn->socket, NULL);
  conn_drop (conn);
}

static gboolean
on_hang_up (int          fd,
            GIOCondition condition,
            gpointer     data)
{
  Conn *conn = data;

  g_clear_pointer (&conn->hup_watch, g_source_unref);
  if (conn->socket == NULL || g_socket_is_closed (conn->socket))
    conn_drop (conn);
  else if (g_socket_get_available_bytes (conn->socket) > 0)
    conn->peer_gone = TRUE;   /* a last request came with the FIN: answer it first */
  else
    conn_close (conn);
  return G_SOURCE_REMOVE;
}

static void
conn_watch (Conn *conn)
{
  GSource *source;

  conn_stop_watch (conn);
  /* POLLRDHUP: the peer shut down its side; GLib passes the bit to poll(). */
  source = g_unix_fd_source_new (g_socket_get_fd (conn->socket),
                                 (GIOCondition) (POLLRDHUP | G_IO_HUP | G_IO_ERR));
  g_source_set_priority (source, G_PRIORITY_HIGH);
  g_source_set_callback (source, G_SOURCE_FUNC (on_hang_up), conn, NULL);
  g_source_set_static_name (source, "plua connection hang-up");
  g_source_attach (source, NULL);
  conn->hup_watch = source;
}

static void
conn_enter (Conn  *conn,
            Phase  phase)
{
  conn->phase = phase;
  conn->since = g_get_monotonic_time ();
  if (phase == PHASE_IDLE)
    conn_watch (conn);
  else
    conn_stop_watch (conn);
}

static Conn *
conn_of (PluaSoupGuard     *self,
         SoupServerMessage *msg)
{
  return g_hash_table_lookup (self->conns, soup_server_message_get_remote_address (msg));
}

static void
conn_set_msg (Conn              *conn,
              SoupServerMessage *msg)
{
  if (conn->msg == msg)
    return;
  if (conn->msg != NULL)
    {
      g_signal_handlers_disconnect_by_data (conn->msg, conn->guard);
      g_object_unref (conn->msg);
    }
  conn->msg = g_object_ref (msg);
}

static void
on_got_headers (SoupServerMessage *msg,
                PluaSoupGuard     *self)
{
  Conn *conn = conn_of (self, msg);

  if (conn != NULL)
    conn_enter (conn, PHASE_BODY);
}

static void
on_got_body (SoupServerMessage *msg,
             PluaSoupGuard     *self)
{
  Conn *conn = conn_of (self, msg);

  if (conn != NULL)
    conn_enter (conn, PHASE_HANDLING);
}

static void
on_request_started (SoupServer        *server,
                    SoupServerMessage *msg,
                    PluaSoupGuard     *self)
{
  Conn *conn = conn_of (self, msg);

  if (conn == NULL)
    return;
  conn_set_msg (conn, msg);
  g_signal_connect (msg, "got-headers", G_CALLBACK (on_got_headers), self);
  g_signal_connect (msg, "got-body", G_CALLBACK (on_got_body), self);
  conn_enter (conn, PHASE_HEADERS);
}

static gboolean
close_gone_peer (gpointer data)
{
  PluaSoupGuard *self = data;
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->conns);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Conn *conn = value;

      if (conn->peer_gone && conn->phase == PHASE_IDLE)
        {
          conn_close (conn);
          g_hash_table_iter_init (&iter, self->conns);   /* conn_close removed it */
        }
    }
  return G_SOURCE_REMOVE;
}

/* A response went out (or failed): the connection waits for the next request
 * (libsoup disconnects a failed or closing one itself; the weak reference
 * then drops it here). */
static void
on_request_finished (SoupServer        *server,
                     SoupServerMessage *msg,
                     PluaSoupGuard     *self)
{
  Conn *conn = conn_of (self, msg);

  if (conn == NULL)
    return;
  conn_set_msg (conn, msg);
  conn_enter (conn, PHASE_IDLE);
  /* Not from here: libsoup sets up the next request's I/O after this signal. */
  if (conn->peer_gone)
    g_idle_add_full (G_PRIORITY_HIGH, close_gone_peer, self, NULL);
}

/* The header timeout in µs, read once. */
static gint64
header_timeout (void)
{
  static gint64 timeout;

  if (timeout == 0)
    {
      const char *env = g_getenv ("PLUA_HEADER_TIMEOUT");
      double seconds = env != NULL ? g_ascii_strtod (env, NULL) : 0;

      timeout = (gint64) ((seconds > 0 ? seconds : PLUA_SOUP_HEADER_TIMEOUT) * G_USEC_PER_SEC);
    }
  return timeout;
}

static gboolean
sweep (gpointer data)
{
  PluaSoupGuard *self = data;
  gint64 now = g_get_monotonic_time ();
  gint64 headers = header_timeout ();
  g_autoptr(GPtrArray) expired = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->conns);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Conn *conn = value;
      gint64 limit = conn->phase == PHASE_BODY ? headers * PLUA_SOUP_BODY_TIMEOUT / PLUA_SOUP_HEADER_TIMEOUT
                     : conn->phase == PHASE_HANDLING ? 0 : headers;

      if (conn->socket == NULL || g_socket_is_closed (conn->socket)
          || (limit > 0 && now - conn->since > limit))
        g_ptr_array_add (expired, conn);
    }
  for (guint i = 0; i < expired->len; i++)
    conn_close (expired->pdata[i]);
  if (g_hash_table_size (self->conns) > 0)
    return G_SOURCE_CONTINUE;
  self->sweep_id = 0;
  return G_SOURCE_REMOVE;
}

PluaSoupGuard *
plua_soup_guard_new (SoupServer *server,
                     GCallback   on_slot_free,
                     gpointer    data)
{
  PluaSoupGuard *self = g_new0 (PluaSoupGuard, 1);

  self->server = server;
  self->conns = g_hash_table_new (NULL, NULL);
  self->on_slot_free = on_slot_free;
  self->data = data;
  self->handlers[0] = g_signal_connect (server, "request-started", G_CALLBACK (on_request_started), self);
  self->handlers[1] = g_signal_connect (server, "request-finished", G_CALLBACK (on_request_finished), self);
  self->handlers[2] = g_signal_connect (server, "request-aborted", G_CALLBACK (on_request_finished), self);
  return self;
}

/* Called before the connection is handed to the server, so the
 * request-started signal that soup_server_accept_iostream emits finds it. */
void
plua_soup_guard_add (PluaSoupGuard  *self,
                     GSocket        *socket,
                     GSocketAddress *remote)
{
  Conn *conn = g_new0 (Conn, 1);

  conn->guard = self;
  conn->socket = socket;
  conn->remote = g_object_ref (remote);
  conn->phase = PHASE_HEADERS;
  conn->since = g_get_monotonic_time ();
  g_object_weak_ref (G_OBJECT (socket), conn_socket_gone, conn);
  g_hash_table_insert (self->conns, remote, conn);
  open_total++;
  if (self->sweep_id == 0)
    {
      self->sweep_id = g_timeout_add (MIN (1000, header_timeout () / 4000), sweep, self);
      g_source_set_static_name (g_main_context_find_source_by_id (NULL, self->sweep_id), "plua connection sweep");
    }
}

guint
plua_soup_guard_get_count (PluaSoupGuard *self)
{
  return g_hash_table_size (self->conns);
}

/* The connections stay with libsoup (the server closes them when it goes):
 * only the guard's watches and references go. */
void
plua_soup_guard_free (PluaSoupGuard *self)
{
  GHashTableIter iter;
  gpointer value;

  if (self == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (self->handlers); i++)
    g_signal_handler_disconnect (self->server, self->handlers[i]);
  self->on_slot_free = NULL;
  g_hash_table_iter_init (&iter, self->conns);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      conn_drop (value);
      g_hash_table_iter_init (&iter, self->conns);
    }
  g_clear_handle_id (&self->sweep_id, g_source_remove);
  g_idle_remove_by_data (self);
  g_hash_table_unref (self->conns);
  g_free (self);
}

/* plua-soup-listener.c: serving a SoupServer on one TCP address (see the header
 * for why plua does not use soup_server_listen). */
#include "config.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <gio/gunixsocketaddress.h>

#include <glib/gi18n.h>

#include "plua-soup-guard.h"
#include "plua-soup-listener.h"

/* Accepting pauses when the process runs out of file descriptors (EMFILE):
 * the pending connection stays readable, and retrying at once would spin.
 * The first retry comes after BACKOFF_MIN ms, each next one later, up to
 * BACKOFF_MAX; connections already open are served all along. */
#define BACKOFF_MIN 50
#define BACKOFF_MAX 1000

struct _PluaSoupListener
{
  GSocket       *socket;
  SoupServer    *server;
  GSource       *source;     /* NULL while accepting is paused */
  PluaSoupGuard *guard;
  guint          retry_id;   /* the EMFILE back-off */
  guint          backoff;    /* ms, 0 when accepting normally */
  gboolean       at_cap;     /* paused: too many connections */
  guint          port;
};

static void listener_resume (PluaSoupListener *self);

GInetAddress *
plua_soup_resolve_host (const char  *host,
                        GError     **error)
{
  g_autoptr(GResolver) resolver = NULL;
  GInetAddress *address;
  GList *list;

  g_return_val_if_fail (host != NULL, NULL);

  if (g_ascii_strcasecmp (host, "localhost") == 0)
    return g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  if (strcmp (host, "*") == 0 || *host == '\0')
    return g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  address = g_inet_address_new_from_string (host);
  if (address != NULL)
    return address;
  resolver = g_resolver_get_default ();
  list = g_resolver_lookup_by_name (resolver, host, NULL, error);
  if (list == NULL)
    return NULL;
  address = g_object_ref (list->data);
  g_resolver_free_addresses (list);
  return address;
}

/* Hands one accepted connection to the server, watched by the guard. */
static void
hand_over (SoupServer    *server,
           PluaSoupGuard *guard,
           GSocket       *socket)
{
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GSocketAddress) local = g_socket_get_local_address (socket, NULL);
  g_autoptr(GSocketAddress) remote = g_socket_get_remote_address (socket, NULL);

  if (local == NULL || remote == NULL)
    return;   /* the peer is already gone: dropping the socket closes it */
  /* Small answers on a kept-alive connection must not wait for Nagle. */
  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, TRUE, NULL);
  connection = g_socket_connection_factory_create_connection (socket);
  plua_soup_guard_add (guard, socket, remote);
  soup_server_accept_iostream (server, G_IO_STREAM (connection), local, remote, NULL);
}

static void
listener_pause (PluaSoupListener *self)
{
  if (self->source == NULL)
    return;
  g_source_destroy (self->source);
  g_clear_pointer (&self->source, g_source_unref);
}

static gboolean
retry_accept (gpointer data)
{
  PluaSoupListener *self = data;

  self->retry_id = 0;
  listener_resume (self);
  return G_SOURCE_REMOVE;
}

/* EMFILE/ENFILE: wait, longer each time, then try again. */
static void
back_off (PluaSoupListener *self)
{
  if (self->backoff == 0)
    g_printerr (_("plua: port %u: out of file descriptors, new connections wait "
                  "(%u open ones are still served)\n"),
                self->port, plua_soup_guard_get_count (self->guard));
  self->backoff = self->backoff == 0 ? BACKOFF_MIN : MIN (self->backoff * 2, BACKOFF_MAX);
  listener_pause (self);
  self->retry_id = g_timeout_add (self->backoff, retry_accept, self);
}

/* At the cap on connections: accepting waits until one closes (the guard's
 * timeouts make sure one will). Said once per time it happens. */
static gboolean
check_cap (PluaSoupListener *self)
{
  guint cap = plua_soup_connection_cap ();

  if (plua_soup_connections_open () < cap)
    return TRUE;
  if (!self->at_cap)
    g_printerr (_("plua: port %u: %u connections open, the most plua takes at once; "
                  "new ones wait until one closes\n"), self->port, cap);
  self->at_cap = TRUE;
  listener_pause (self);
  return FALSE;
}

/* The listening socket is readable: take every connection waiting. A plain
 * file-descriptor source, which the main loop neither prepares nor checks on
 * each iteration, unlike GSocketService's sources. */
static gboolean
on_incoming (int          fd,
             GIOCondition condition,
             gpointer     data)
{
  PluaSoupListener *self = data;

  for (guint i = 0; i < 64; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSocket) socket = NULL;

      if (!check_cap (self))
        return G_SOURCE_CONTINUE;   /* the source is already destroyed */
      socket = g_socket_accept (self->socket, NULL, &error);
      if (socket == NULL)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES))
            back_off (self);
          break;   /* EAGAIN, or a connection reset before we took it */
        }
      if (self->backoff != 0)
        g_printerr (_("plua: port %u: accepting connections again\n"), self->port);
      self->backoff = 0;
      hand_over (self->server, self->guard, socket);
    }
  return G_SOURCE_CONTINUE;
}

static void
listener_resume (PluaSoupListener *self)
{
  if (self->source != NULL || self->retry_id != 0)
    return;
  self->source = g_unix_fd_source_new (g_socket_get_fd (self->socket), G_IO_IN);
  g_source_set_callback (self->source, G_SOURCE_FUNC (on_incoming), self, NULL);
  g_source_set_static_name (self->source, "plua listener");
  g_source_attach (self->source, g_main_context_get_thread_default ());
}

/* A connection closed: below the cap again, accepting resumes. */
static void
on_slot_free (gpointer data)
{
  PluaSoupListener *self = data;

  if (!self->at_cap || plua_soup_connections_open () >= plua_soup_connection_cap ())
    return;
  self->at_cap = FALSE;
  g_printerr (_("plua: port %u: accepting connections again\n"), self->port);
  listener_resume (self);
}

/* A context nobody iterates: the keep-alive listener's source waits there,
 * so the main loop does not poll a socket no one can reach. */
static GMainContext *
parking_context (void)
{
  static GMainContext *context;   /* servers run on the main thread only */

  if (context == NULL)
    context = g_main_context_new ();
  return context;
}

static gboolean
add_keepalive_listener (SoupServer  *server,
                        GError     **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autofree char *name = NULL;
  gboolean ok;

  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, error);
  if (socket == NULL)
    return FALSE;
  name = g_strdup_printf ("plua-%d-%08x%08x", (int) getpid (), g_random_int (), g_random_int ());
  address = g_unix_socket_address_new_with_type (name, -1, G_UNIX_SOCKET_ADDRESS_ABSTRACT);
  if (!g_socket_bind (socket, address, FALSE, error) || !g_socket_listen (socket, error))
    return FALSE;
  /* libsoup attaches its listener's source to the thread-default context. */
  g_main_context_push_thread_default (parking_context ());
  ok = soup_server_listen_socket (server, socket, 0, error);
  g_main_context_pop_thread_default (parking_context ());
  return ok;
}

static GSocket *
listen_on (GSocketAddress  *address,
           GError         **error)
{
  g_autoptr(GSocket) socket = NULL;

  socket = g_socket_new (g_socket_address_get_family (address), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return NULL;
  if (g_socket_address_get_family (address) == G_SOCKET_FAMILY_IPV6)
    g_socket_set_option (socket, IPPROTO_IPV6, IPV6_V6ONLY, TRUE, NULL);
  g_socket_set_listen_backlog (socket, 128);
  if (!g_socket_bind (socket, address, TRUE, error) || !g_socket_listen (socket, error))
    return NULL;
  g_socket_set_blocking (socket, FALSE);
  return g_steal_pointer (&socket);
}

PluaSoupListener *
plua_soup_listener_new (SoupServer    *server,
                        GInetAddress  *address,
                        guint          port,
                        GError       **error)
{
  g_autoptr(GSocketAddress) socket_address = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GSocket) socket = NULL;
  PluaSoupListener *self;

  g_return_val_if_fail (SOUP_IS_SERVER (server), NULL);
  g_return_val_if_fail (G_IS_INET_ADDRESS (address), NULL);

  socket_address = g_inet_socket_address_new (address, port);
  socket = listen_on (socket_address, error);
  if (socket == NULL)
    return NULL;
  if (soup_server_get_listeners (server) == NULL && !add_keepalive_listener (server, error))
    return NULL;
  bound = g_socket_get_local_address (socket, error);
  if (bound == NULL)
    return NULL;

  self = g_new0 (PluaSoupListener, 1);
  self->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  self->socket = g_steal_pointer (&socket);
  /* Held: a connection accepted while the owner is going away still has
   * somewhere to go. */
  self->server = g_object_ref (server);
  self->guard = plua_soup_guard_new (server, G_CALLBACK (on_slot_free), self);
  listener_resume (self);
  return self;
}

guint
plua_soup_listener_get_port (PluaSoupListener *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->port;
}

void
plua_soup_listener_free (PluaSoupListener *self)
{
  if (self == NULL)
    return;
  listener_pause (self);
  g_clear_handle_id (&self->retry_id, g_source_remove);
  g_clear_pointer (&self->guard, plua_soup_guard_free);
  g_socket_close (self->socket, NULL);
  g_object_unref (self->socket);
  g_object_unref (self->server);
  g_free (self);
}

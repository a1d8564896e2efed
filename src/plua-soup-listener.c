/* plua-soup-listener.c: serving a SoupServer on one TCP address (see the header
 * for why plua does not use soup_server_listen). */
#include "config.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <gio/gunixsocketaddress.h>

#include "plua-soup-listener.h"

struct _PluaSoupListener
{
  GSocket    *socket;
  SoupServer *server;
  GSource    *source;
  guint       port;
};

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

/* Hands one accepted connection to the server. */
static void
hand_over (SoupServer *server,
           GSocket    *socket)
{
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GSocketAddress) local = g_socket_get_local_address (socket, NULL);
  g_autoptr(GSocketAddress) remote = g_socket_get_remote_address (socket, NULL);

  if (local == NULL || remote == NULL)
    return;   /* the peer is already gone: dropping the socket closes it */
  /* Small answers on a kept-alive connection must not wait for Nagle. */
  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, TRUE, NULL);
  connection = g_socket_connection_factory_create_connection (socket);
  soup_server_accept_iostream (server, G_IO_STREAM (connection), local, remote, NULL);
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
      g_autoptr(GSocket) socket = g_socket_accept (self->socket, NULL, NULL);

      if (socket == NULL)
        break;   /* EAGAIN, or a connection reset before we took it */
      hand_over (self->server, socket);
    }
  return G_SOURCE_CONTINUE;
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
  self->source = g_unix_fd_source_new (g_socket_get_fd (self->socket), G_IO_IN);
  g_source_set_callback (self->source, G_SOURCE_FUNC (on_incoming), self, NULL);
  g_source_set_static_name (self->source, "plua listener");
  g_source_attach (self->source, g_main_context_get_thread_default ());
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
  g_source_destroy (self->source);
  g_source_unref (self->source);
  g_socket_close (self->socket, NULL);
  g_object_unref (self->socket);
  g_object_unref (self->server);
  g_free (self);
}

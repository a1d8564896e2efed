/* plua-soup-listener.c: serving a SoupServer on one TCP address (see the header
 * for why plua does not use soup_server_listen). */
#include "config.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include <gio/gunixsocketaddress.h>

#include "plua-soup-listener.h"

struct _PluaSoupListener
{
  GSocketService *service;
  guint           port;
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

static gboolean
on_incoming (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source,
             SoupServer        *server)
{
  g_autoptr(GSocketAddress) local = g_socket_connection_get_local_address (connection, NULL);
  g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address (connection, NULL);

  if (local == NULL || remote == NULL)
    return TRUE;   /* the peer is already gone: dropping the connection closes it */
  /* Small answers on a kept-alive connection must not wait for Nagle. */
  g_socket_set_option (g_socket_connection_get_socket (connection), IPPROTO_TCP, TCP_NODELAY, TRUE, NULL);
  soup_server_accept_iostream (server, G_IO_STREAM (connection), local, remote, NULL);
  return TRUE;
}

static gboolean
add_keepalive_listener (SoupServer  *server,
                        GError     **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autofree char *name = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, error);
  if (socket == NULL)
    return FALSE;
  name = g_strdup_printf ("plua-%d-%08x%08x", (int) getpid (), g_random_int (), g_random_int ());
  address = g_unix_socket_address_new_with_type (name, -1, G_UNIX_SOCKET_ADDRESS_ABSTRACT);
  if (!g_socket_bind (socket, address, FALSE, error) || !g_socket_listen (socket, error))
    return FALSE;
  return soup_server_listen_socket (server, socket, 0, error);
}

PluaSoupListener *
plua_soup_listener_new (SoupServer    *server,
                        GInetAddress  *address,
                        guint          port,
                        GError       **error)
{
  g_autoptr(GSocketService) service = NULL;
  g_autoptr(GSocketAddress) socket_address = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  PluaSoupListener *self;

  g_return_val_if_fail (SOUP_IS_SERVER (server), NULL);
  g_return_val_if_fail (G_IS_INET_ADDRESS (address), NULL);

  socket_address = g_inet_socket_address_new (address, port);
  service = g_socket_service_new ();
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (service), socket_address,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                      NULL, &bound, error))
    return NULL;
  if (soup_server_get_listeners (server) == NULL && !add_keepalive_listener (server, error))
    {
      g_socket_listener_close (G_SOCKET_LISTENER (service));
      return NULL;
    }

  self = g_new0 (PluaSoupListener, 1);
  self->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  /* The service holds the server: a connection accepted while the owner is
   * going away still has somewhere to go. */
  g_signal_connect_data (service, "incoming", G_CALLBACK (on_incoming),
                         g_object_ref (server), (GClosureNotify) (void (*) (void)) g_object_unref, 0);
  g_socket_service_start (service);
  self->service = g_steal_pointer (&service);
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
  g_socket_service_stop (self->service);
  g_socket_listener_close (G_SOCKET_LISTENER (self->service));
  g_signal_handlers_disconnect_matched (self->service, G_SIGNAL_MATCH_FUNC, 0, 0, NULL, on_incoming, NULL);
  g_object_unref (self->service);
  g_free (self);
}

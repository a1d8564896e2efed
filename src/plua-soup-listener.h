/* plua-soup-listener.h: serving a SoupServer on one TCP address.
 *
 * Every server plua runs (net.HTTPServer, net.WebSocketServer, the REST API)
 * listens through this, for two reasons that belong to libsoup 3.2:
 * its own listener (soup_server_listen) leaks the GSocket of every accepted
 * connection, so we accept connections ourselves and hand them over with
 * soup_server_accept_iostream; and it keeps a connection alive after a
 * response only while it has a listener of its own, so it gets one nobody can
 * reach (a Unix socket with a random abstract name: no file, no port).
 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct _PluaSoupListener PluaSoupListener;

/* "localhost" → 127.0.0.1, "*" or "" → any IPv4 address, numeric addresses as
 * they are, other names through the resolver. */
GInetAddress     *plua_soup_resolve_host      (const char  *host,
                                               GError     **error);

/* Binds address:port (0 picks a free port) and hands every connection to
 * server. Never falls back to another address: the GIO error says why
 * (G_IO_ERROR_ADDRESS_IN_USE, ...). */
PluaSoupListener *plua_soup_listener_new      (SoupServer    *server,
                                               GInetAddress  *address,
                                               guint          port,
                                               GError       **error);
guint             plua_soup_listener_get_port (PluaSoupListener *self);
/* Stops accepting and closes the listening sockets. */
void              plua_soup_listener_free     (PluaSoupListener *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PluaSoupListener, plua_soup_listener_free)

G_END_DECLS

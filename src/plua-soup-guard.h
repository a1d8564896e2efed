/* plua-soup-guard.h: the connections a SoupServer was handed, watched.
 *
 * libsoup 3.2.3 (Debian 12) never closes a kept-alive connection that the
 * client closed between requests (fixed in 3.3.0): each stays in CLOSE-WAIT
 * with its file descriptor until plua runs out of them. It also has no
 * timeout of its own, so a client that opens a connection and sends its
 * headers a byte at a time (slowloris) holds it for ever. The guard watches
 * every connection the listener accepts:
 *
 * - between requests it polls for the peer's hang-up (POLLRDHUP) and closes
 *   the connection when the peer has gone and sent nothing more;
 * - a connection waiting for request headers (idle keep-alive, or headers
 *   arriving slowly) is closed after PLUA_SOUP_HEADER_TIMEOUT seconds, one
 *   still sending its body after PLUA_SOUP_BODY_TIMEOUT; a request being
 *   handled (a long poll, a running /plua/execute) has no limit here;
 * - it counts the connections open in the whole process against one cap
 *   (from RLIMIT_NOFILE), which the listener uses to stop accepting.
 *
 * Closing goes through soup_server_message_steal_connection, the public way
 * to take a connection away from the server, so libsoup forgets it too. */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* Seconds; PLUA_HEADER_TIMEOUT in the environment overrides the first
 * (and the second, scaled the same), for tests and slow links. */
#define PLUA_SOUP_HEADER_TIMEOUT 20
#define PLUA_SOUP_BODY_TIMEOUT   60

typedef struct _PluaSoupGuard PluaSoupGuard;

PluaSoupGuard *plua_soup_guard_new       (SoupServer     *server,
                                          GCallback       on_slot_free,
                                          gpointer        data);
void           plua_soup_guard_add       (PluaSoupGuard  *self,
                                          GSocket        *socket,
                                          GSocketAddress *remote);
guint          plua_soup_guard_get_count (PluaSoupGuard  *self);
void           plua_soup_guard_free      (PluaSoupGuard  *self);

guint          plua_soup_connection_cap  (void);
guint          plua_soup_connections_open (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PluaSoupGuard, plua_soup_guard_free)

G_END_DECLS

/* http-minimal-server.c: the reference for the HTTP server benchmark: a
 * SoupServer answering every request with the same fixed body, no Lua.
 *
 *   http-minimal-server PORT
 *
 * Built by tests/bench/http.sh with cc + pkg-config libsoup-3.0. */
#include <stdlib.h>
#include <string.h>

#include <libsoup/soup.h>

static const char body[] = "Hello, World!\n";

static void
handle (SoupServer        *server,
        SoupServerMessage *msg,
        const char        *path,
        GHashTable        *query,
        gpointer           user_data)
{
  soup_server_message_set_status (msg, 200, NULL);
  soup_server_message_set_response (msg, "text/plain; charset=utf-8",
                                    SOUP_MEMORY_STATIC, body, strlen (body));
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (SoupServer) server = soup_server_new ("server-header", "minimal ", NULL);
  g_autoptr (GInetAddress) inet = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = NULL;

  if (argc != 2)
    {
      g_printerr ("usage: %s PORT\n", argv[0]);
      return 2;
    }
  address = g_inet_socket_address_new (inet, atoi (argv[1]));
  soup_server_add_handler (server, NULL, handle, NULL, NULL);
  if (!soup_server_listen (server, address, 0, &error))
    {
      g_printerr ("listen: %s\n", error->message);
      return 1;
    }
  g_main_loop_run (loop);
  return 0;
}

/* plua-api-port.c: which process holds a TCP port, for the error message
 * of a port in use. Read from /proc; nothing is ever done to that process. */
#include "config.h"

#include <stdio.h>

#include <glib/gi18n.h>
#include <gio/gio.h>

#include "plua-api-server.h"

/* The inode of the socket listening on port, from /proc/net/tcp{,6}. */
static guint64
find_listening_inode (guint port)
{
  const char *tables[] = { "/proc/net/tcp", "/proc/net/tcp6" };

  for (guint t = 0; t < G_N_ELEMENTS (tables); t++)
    {
      g_autofree char *contents = NULL;
      g_auto(GStrv) lines = NULL;

      if (!g_file_get_contents (tables[t], &contents, NULL, NULL))
        continue;
      lines = g_strsplit (contents, "\n", -1);
      for (guint i = 1; lines[i] != NULL; i++)
        {
          unsigned int local_port, state;
          guint64 inode;

          if (sscanf (lines[i], " %*s %*[0-9A-Fa-f]:%x %*s %x %*s %*s %*s %*s %*s %" G_GUINT64_FORMAT,
                      &local_port, &state, &inode) == 3 &&
              local_port == port && state == 0x0A && inode != 0)
            return inode;
        }
    }
  return 0;
}

char *
plua_api_find_port_holder (guint port)
{
  g_autoptr(GDir) proc = NULL;
  g_autofree char *wanted = NULL;
  guint64 inode = find_listening_inode (port);
  const char *pid;

  if (inode == 0 || (proc = g_dir_open ("/proc", 0, NULL)) == NULL)
    return NULL;
  wanted = g_strdup_printf ("socket:[%" G_GUINT64_FORMAT "]", inode);
  while ((pid = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *fd_path = NULL;
      g_autoptr(GDir) fds = NULL;
      const char *fd;

      if (!g_ascii_isdigit (pid[0]))
        continue;
      fd_path = g_build_filename ("/proc", pid, "fd", NULL);
      if ((fds = g_dir_open (fd_path, 0, NULL)) == NULL)
        continue;   /* another user's process */
      while ((fd = g_dir_read_name (fds)) != NULL)
        {
          g_autofree char *link_path = g_build_filename (fd_path, fd, NULL);
          g_autofree char *target = g_file_read_link (link_path, NULL);

          if (target != NULL && g_str_equal (target, wanted))
            {
              g_autofree char *comm_path = g_build_filename ("/proc", pid, "comm", NULL);
              g_autofree char *comm = NULL;

              if (g_file_get_contents (comm_path, &comm, NULL, NULL))
                return g_strdup_printf (_("process %s (%s)"), pid, g_strstrip (comm));
              return g_strdup_printf (_("process %s"), pid);
            }
        }
    }
  return NULL;
}

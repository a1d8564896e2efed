/* plua-signal-watch.c: SIGINT and SIGTERM through a self-pipe (see the header). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>

#include "plua-signal-watch.h"

static const int watched[] = { SIGINT, SIGTERM };

typedef struct
{
  PluaSignalFunc   func;
  gpointer         user_data;
  int              fds[2];
  struct sigaction previous[G_N_ELEMENTS (watched)];
} SignalWatch;

/* The handler's only state: async-signal-safe to read. */
static volatile int write_fd = -1;
static SignalWatch *current;

static void
on_signal (int signum)
{
  int saved = errno;
  unsigned char byte = (unsigned char) signum;

  if (write_fd >= 0)
    (void) !write (write_fd, &byte, 1);   /* a full pipe already holds a wake-up */
  errno = saved;
}

static gboolean
on_readable (int          fd,
             GIOCondition condition,
             gpointer     data)
{
  SignalWatch *watch = data;
  unsigned char bytes[16];
  ssize_t n;

  /* A func that removes the watch is safe: GLib frees it (watch_free) only
   * once this dispatch has returned. */
  while ((n = read (fd, bytes, sizeof bytes)) > 0)
    for (ssize_t i = 0; i < n; i++)
      watch->func (bytes[i], watch->user_data);
  return G_SOURCE_CONTINUE;
}

static void
watch_free (gpointer data)
{
  SignalWatch *watch = data;

  for (guint i = 0; i < G_N_ELEMENTS (watched); i++)
    sigaction (watched[i], &watch->previous[i], NULL);
  write_fd = -1;
  close (watch->fds[0]);
  close (watch->fds[1]);
  current = NULL;
  g_free (watch);
}

guint
plua_signal_watch_add (PluaSignalFunc func,
                       gpointer       user_data)
{
  g_autoptr(GError) error = NULL;
  struct sigaction action;
  SignalWatch *watch;
  GSource *source;
  guint id;

  g_return_val_if_fail (func != NULL, 0);
  g_return_val_if_fail (current == NULL, 0);

  watch = g_new0 (SignalWatch, 1);
  if (!g_unix_open_pipe (watch->fds, FD_CLOEXEC, &error) ||
      !g_unix_set_fd_nonblocking (watch->fds[0], TRUE, &error) ||
      !g_unix_set_fd_nonblocking (watch->fds[1], TRUE, &error))
    {
      g_warning ("cannot watch signals: %s", error->message);
      g_free (watch);
      return 0;
    }
  watch->func = func;
  watch->user_data = user_data;
  current = watch;
  write_fd = watch->fds[1];

  memset (&action, 0, sizeof action);
  action.sa_handler = on_signal;
  action.sa_flags = SA_RESTART;
  sigemptyset (&action.sa_mask);
  for (guint i = 0; i < G_N_ELEMENTS (watched); i++)
    sigaction (watched[i], &action, &watch->previous[i]);

  source = g_unix_fd_source_new (watch->fds[0], G_IO_IN);
  g_source_set_callback (source, G_SOURCE_FUNC (on_readable), watch, watch_free);
  g_source_set_static_name (source, "plua signal watch");
  id = g_source_attach (source, g_main_context_get_thread_default ());
  g_source_unref (source);
  return id;
}

void
plua_signal_watch_remove (guint id)
{
  if (id != 0)
    g_source_remove (id);
}

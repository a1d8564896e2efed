/* plua-signal-watch.h: SIGINT and SIGTERM delivered on the main loop.
 *
 * GLib's g_unix_signal_add would do, but each of its sources is prepared and
 * checked on every main-loop iteration and it starts GLib's worker thread;
 * plua runs one iteration per setTimeout(fn, 0) hop, so it watches its
 * signals through one self-pipe instead: a handler writes the signal number,
 * a file-descriptor source with nothing to prepare reads it.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef void (*PluaSignalFunc) (int signum, gpointer user_data);

/* Starts delivering SIGINT and SIGTERM to func on the thread-default main
 * context. One watch at a time. Returns a source id for
 * plua_signal_watch_remove, 0 (with a warning) when no pipe can be made. */
guint plua_signal_watch_add    (PluaSignalFunc func,
                                gpointer       user_data);
/* Gives the signals back to their previous handlers. */
void  plua_signal_watch_remove (guint          id);

G_END_DECLS

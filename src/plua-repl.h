/* plua-repl.h: the terminal REPL, a main-loop source on stdin. */
#pragma once

#include <glib-object.h>

#include "plua-runtime.h"

G_BEGIN_DECLS

#define PLUA_TYPE_REPL (plua_repl_get_type ())
G_DECLARE_FINAL_TYPE (PluaRepl, plua_repl, PLUA, REPL, GObject)

PluaRepl *plua_repl_new       (PluaRuntime *runtime);
/* Prints the banner (terminal only) and starts reading stdin on the main loop.
 * Emits ::closed (gboolean exit_now) when the user leaves: exit_now is TRUE for
 * exit()/quit() and Ctrl-D on a terminal (the run ends at once), FALSE at the
 * end of piped input (the run then ends when idle, like a script). */
void      plua_repl_start     (PluaRepl *self);
/* SIGINT while the REPL runs: on a terminal, clears the current line (and any
 * pending continuation lines) and shows a fresh prompt; returns TRUE if handled.
 * Returns FALSE when stdin is not a terminal (the caller ends the run). */
gboolean  plua_repl_interrupt (PluaRepl *self);
/* Restores the terminal (readline) before the process exits. */
void      plua_repl_stop      (PluaRepl *self);

G_END_DECLS

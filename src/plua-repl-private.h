/* plua-repl-private.h: the terminal REPL's internals, shared by plua-repl.c (the
 * object, running chunks, reading without readline), plua-repl-readline.c (line
 * editing, history, completion) and plua-repl-commands.c (help(), exit(), ...).
 * Include config.h first: LINE_EDITING and LIBEDIT come from it.
 */
#pragma once

#include <stdio.h>

#include "plua-repl.h"

G_BEGIN_DECLS

/* config.h defines both as 1 or 0 (meson's set10). */
#define LINE_EDITING HAVE_LINE_EDITING
#define LIBEDIT      (HAVE_LINE_EDITING && HAVE_LIBEDIT)

typedef struct _PluaLineEditing PluaLineEditing;

#define PROMPT            "plua> "
#define PROMPT_CONTINUE   ">> "

struct _PluaRepl
{
  GObject      parent_instance;

  PluaRuntime *runtime;

  /* Lua's commands (exit, help, ...) reach the REPL through this box, cleared in
   * dispose so a command called after the REPL is gone does nothing. */
  PluaRepl   **box;
  int          box_ref;

  GString     *chunk;          /* lines of a chunk that is not complete yet */
  char        *qa_target;      /* `:qa ID`: the QuickApp chunks run in, NULL the default */
  GString     *input;          /* without readline: bytes read, not yet a line */
  char        *history_path;
  char        *last_history;   /* not added twice in a row */
  FILE        *prompt_stream;  /* stdout, or stderr when stdout is redirected */

  guint        stdin_source;
  guint        winch_source;
  guint        drain_source;
  gulong       output_hook;
  gulong       output_after;
  gulong       dispatched_handler;
  /* Piped input: the chunk that slept and must finish before the next line
   * runs (0: none), from a serial number each chunk gets. */
  guint        waiting_serial;
  guint        next_serial;

  /* The half-typed line while output is written above it. */
  char        *saved_line;
  int          saved_point;
  guint        hide_depth;

  /* The line editing module, when the REPL reads a terminal through it
   * (NULL: lines are read as from a pipe). */
  const PluaLineEditing *editing;

  guint        is_tty : 1;
  guint        readline_installed : 1;
  guint        in_line_handler : 1;
  guint        started : 1;
  guint        closed : 1;
  guint        eof : 1;
};

/* plua-repl.c */

/* The started REPL, for readline's callbacks, which carry no user data. */
PluaRepl *plua_repl_get_current        (void);
/* One line typed (or read from the pipe), without its newline. */
void      plua_repl_handle_line        (PluaRepl   *self,
                                        const char *line);
/* Splits text into the lines plua_runtime_output() expects. */
void      plua_repl_output             (PluaRepl   *self,
                                        const char *text,
                                        gsize       len);
void      plua_repl_close              (PluaRepl   *self,
                                        gboolean    exit_now);

/* plua-repl-readline.c, the module plua-readline.so (plua-modules.h): line
 * editing with readline, loaded when a REPL starts on a terminal. */
#define PLUA_READLINE_MODULE_ABI 1

struct _PluaLineEditing
{
  guint    abi;
  /* Whether readline's prompt is on the screen now. */
  gboolean (*prompt_visible) (PluaRepl   *self);
  /* Output written while the user types goes between these two. */
  void     (*hide_prompt)    (PluaRepl   *self);
  void     (*show_prompt)    (PluaRepl   *self);
  void     (*history_add)    (PluaRepl   *self,
                              const char *entry);
  /* Installs readline on the terminal and reads stdin through it. */
  void     (*start)          (PluaRepl   *self);
  /* Ctrl-C: drops the line being edited and shows a fresh prompt. */
  void     (*interrupt)      (PluaRepl   *self);
  void     (*stop)           (PluaRepl   *self);
};

/* plua-repl-commands.c */

/* help(), exit(), quit() and state() as Lua globals. */
G_GNUC_INTERNAL
void      plua_repl_install_commands   (PluaRepl   *self);

G_END_DECLS

/* plua-repl-readline.c: the terminal REPL's line editing, with GNU readline's
 * callback interface (or libedit's emulation of it): output written above a
 * visible prompt, the history, reading stdin through readline, tab completion
 * and window resizes. Built as the module plua-readline.so (plua-modules.h),
 * so that runs without a REPL do not load readline; only with line editing.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <gmodule.h>

#include <lua.h>

#include "plua-repl-private.h"

#if LINE_EDITING
# if LIBEDIT
#  include <editline/readline.h>
# else
#  include <readline/readline.h>
#  include <readline/history.h>
#endif
#endif

#define HISTORY_MAX       1000

/* Output around a visible readline prompt ------------------------------------ */

static gboolean
plua_repl_prompt_visible (PluaRepl *self)
{
  return self->readline_installed && !self->in_line_handler;
}

/* Takes the prompt and the half-typed line off the screen so that output written
 * while the user types does not end up in the middle of the line. */
static void
plua_repl_hide_prompt (PluaRepl *self)
{
#if LINE_EDITING && !LIBEDIT
  if (!plua_repl_prompt_visible (self) || self->hide_depth++ > 0)
    return;

  self->saved_point = rl_point;
  self->saved_line = rl_copy_text (0, rl_end);
  rl_save_prompt ();
  rl_replace_line ("", 0);
  rl_redisplay ();
#endif
}

static void
plua_repl_show_prompt (PluaRepl *self)
{
#if LINE_EDITING && !LIBEDIT
  if (self->hide_depth == 0 || --self->hide_depth > 0)
    return;

  fflush (stdout);
  rl_restore_prompt ();
  if (plua_repl_prompt_visible (self))
    {
      rl_replace_line (self->saved_line, 0);
      rl_point = self->saved_point;
      rl_redisplay ();
    }
  /* readline's allocation: free(), not g_free(). */
  free (self->saved_line);
  self->saved_line = NULL;
#endif
}

#if LINE_EDITING && !LIBEDIT
/* Lua's print() from a timer while the user types: the application writes the
 * line in its "output" handler, so the prompt goes away before the handlers
 * (an emission hook runs first) and comes back after them. */
static gboolean
plua_repl_on_output_hook (GSignalInvocationHint *ihint,
                          guint                  n_param_values,
                          const GValue          *param_values,
                          gpointer               user_data)
{
  PluaRepl *self = PLUA_REPL (user_data);

  if (g_value_peek_pointer (&param_values[0]) == self->runtime)
    plua_repl_hide_prompt (self);
  return TRUE;
}

static void
plua_repl_on_output_after (PluaRuntime *runtime,
                           const char  *text,
                           guint64      len,
                           PluaRepl    *self)
{
  plua_repl_show_prompt (self);
}
#endif

/* History ------------------------------------------------------------------- */

#if LINE_EDITING
static void
plua_repl_history_load (PluaRepl *self)
{
  g_autofree char *dir = g_build_filename (g_get_user_state_dir (), "plua", NULL);

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int errsv = errno;

      g_printerr (_("Cannot create %s: %s; history will not be saved\n"),
                  dir, g_strerror (errsv));
      return;
    }

  self->history_path = g_build_filename (dir, "history", NULL);
  using_history ();
  stifle_history (HISTORY_MAX);
  read_history (self->history_path);
}
#endif

static void
plua_repl_history_add (PluaRepl   *self,
                       const char *entry)
{
#if LINE_EDITING
  if (entry[0] == '\0' || g_strcmp0 (entry, self->last_history) == 0)
    return;

  g_free (self->last_history);
  self->last_history = g_strdup (entry);
  add_history (entry);

  if (self->history_path == NULL)
    return;
  /* Appending keeps the lines of another plua running at the same time;
   * append_history() does not create the file. */
  if (g_file_test (self->history_path, G_FILE_TEST_EXISTS))
    append_history (1, self->history_path);
  else
    write_history (self->history_path);
#endif
}

#if LINE_EDITING
static void
plua_repl_history_save (PluaRepl *self)
{
  if (self->history_path != NULL && g_file_test (self->history_path, G_FILE_TEST_EXISTS))
    history_truncate_file (self->history_path, HISTORY_MAX);
}
#endif

/* Reading with readline ------------------------------------------------------ */

#if LINE_EDITING

static void
plua_repl_set_prompt (PluaRepl *self)
{
  rl_set_prompt (self->chunk->len > 0 ? PROMPT_CONTINUE : PROMPT);
}

static gboolean
plua_repl_readline_ended_line (void)
{
#if !LIBEDIT && defined (RL_READLINE_VERSION) && RL_READLINE_VERSION >= 0x0801
  const char *value = rl_variable_value ("enable-bracketed-paste");

  return value != NULL && strcmp (value, "on") == 0;
#else
  return FALSE;
#endif
}

static void
plua_repl_on_readline (char *line)
{
  PluaRepl *self = plua_repl_get_current ();

  if (self == NULL)
    {
      free (line);
      return;
    }

  self->in_line_handler = TRUE;
  if (line == NULL)
    {
      /* Ctrl-D on an empty line: end the prompt's line, unless readline
       * already did (8.1 and later, with bracketed paste on). */
      if (!plua_repl_readline_ended_line ())
        {
          fputc ('\n', rl_outstream);
          fflush (rl_outstream);
        }
      g_string_truncate (self->chunk, 0);
      plua_repl_close (self, TRUE);
    }
  else
    plua_repl_handle_line (self, line);
  self->in_line_handler = FALSE;
  free (line);

  if (!self->closed)
    plua_repl_set_prompt (self);
}

static gboolean
plua_repl_on_stdin_readline (int          fd,
                             GIOCondition condition,
                             gpointer     user_data)
{
  g_autoptr(PluaRepl) self = g_object_ref (PLUA_REPL (user_data));

  if ((condition & G_IO_IN) == 0)
    {
      /* The terminal went away. */
      self->stdin_source = 0;
      plua_repl_close (self, TRUE);
      return G_SOURCE_REMOVE;
    }

  rl_callback_read_char ();

  if (self->closed)
    {
      self->stdin_source = 0;
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
plua_repl_on_winch (gpointer user_data)
{
  PluaRepl *self = PLUA_REPL (user_data);

  if (self->readline_installed)
    rl_resize_terminal ();
  return G_SOURCE_CONTINUE;
}

#if !LIBEDIT
/* Tab completion of globals and of fields of tables reached from them
 * ("string.fo" -> "string.format"), read without metamethods. */
static char **completion_matches;
static guint completion_index;

static void
plua_repl_collect_keys (lua_State  *L,
                        GPtrArray  *out,
                        const char *prefix,
                        gsize       prefix_len,
                        const char *partial)
{
  gsize partial_len = strlen (partial);

  lua_pushnil (L);
  while (lua_next (L, -2) != 0)
    {
      lua_pop (L, 1);
      if (lua_type (L, -1) == LUA_TSTRING)
        {
          const char *key = lua_tostring (L, -1);

          if (strncmp (key, partial, partial_len) == 0)
            g_ptr_array_add (out, g_strdup_printf ("%.*s%s", (int) prefix_len, prefix, key));
        }
    }
}

static char *
plua_repl_complete_next (const char *text,
                         int         state)
{
  if (completion_matches == NULL || completion_matches[completion_index] == NULL)
    return NULL;
  /* readline frees what it gets, with free(). */
  return strdup (completion_matches[completion_index++]);
}

static char **
plua_repl_complete (const char *text,
                    int         start,
                    int         end)
{
  PluaRepl *self = plua_repl_get_current ();
  lua_State *L;
  g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  int top;

  rl_attempted_completion_over = 1;   /* never fall back to file names */
  if (self == NULL)
    return NULL;

  L = plua_runtime_get_state (self->runtime);
  top = lua_gettop (L);
  lua_checkstack (L, 8);
  lua_pushglobaltable (L);

  /* Walk "a.b.c" to the table that holds the last part. */
  {
    const char *part = text;
    const char *dot;

    while ((dot = strpbrk (part, ".:")) != NULL)
      {
        if (lua_type (L, -1) != LUA_TTABLE)
          goto out;
        lua_pushlstring (L, part, dot - part);
        lua_rawget (L, -2);
        lua_remove (L, -2);
        part = dot + 1;
      }

    if (lua_type (L, -1) == LUA_TTABLE)
      plua_repl_collect_keys (L, found, text, part - text, part);
  }

out:
  lua_settop (L, top);
  if (found->len == 0)
    return NULL;

  g_ptr_array_sort (found, (GCompareFunc) g_strcmp0);
  g_ptr_array_add (found, NULL);
  g_clear_pointer (&completion_matches, g_strfreev);
  completion_matches = (char **) g_ptr_array_free (g_steal_pointer (&found), FALSE);
  completion_index = 0;
  rl_completion_append_character = '\0';
  return rl_completion_matches (text, plua_repl_complete_next);
}
#endif

static void
plua_repl_readline_start (PluaRepl *self)
{
  rl_readline_name = "plua";
#if !LIBEDIT
  /* SIGINT belongs to the application (plua_repl_interrupt) and SIGWINCH to a
   * main-loop source; readline's own handlers would fight GLib's. */
  rl_catch_signals = 0;
  rl_catch_sigwinch = 0;
  rl_change_environment = 0;
  rl_attempted_completion_function = plua_repl_complete;
  rl_basic_word_break_characters = " \t\n\"\\'`@$><=;|&{}()[],+-*/%^~#";
#endif
  rl_instream = stdin;
  rl_outstream = self->prompt_stream;

  plua_repl_history_load (self);
  rl_callback_handler_install (PROMPT, plua_repl_on_readline);
  self->readline_installed = TRUE;

#if !LIBEDIT
  self->output_hook = g_signal_add_emission_hook (g_signal_lookup ("output", PLUA_TYPE_RUNTIME), 0,
                                                  plua_repl_on_output_hook, self, NULL);
  self->output_after = g_signal_connect_after (self->runtime, "output",
                                               G_CALLBACK (plua_repl_on_output_after), self);
#endif
  self->winch_source = g_unix_signal_add (SIGWINCH, plua_repl_on_winch, self);
  self->stdin_source = g_unix_fd_add (STDIN_FILENO, G_IO_IN | G_IO_HUP | G_IO_ERR,
                                      plua_repl_on_stdin_readline, self);
}

static void
plua_repl_readline_interrupt (PluaRepl *self)
{
  fputs ("^C", rl_outstream);
  rl_free_line_state ();
#if !LIBEDIT
  rl_callback_sigcleanup ();
#endif
  rl_replace_line ("", 0);
  rl_crlf ();
  rl_set_prompt (PROMPT);
  rl_on_new_line ();
  rl_redisplay ();
}

static void
plua_repl_readline_stop (PluaRepl *self)
{
  if (!self->readline_installed)
    return;

  self->readline_installed = FALSE;
  if (self->output_hook != 0)
    {
      g_signal_remove_emission_hook (g_signal_lookup ("output", PLUA_TYPE_RUNTIME),
                                     self->output_hook);
      self->output_hook = 0;
    }
  g_clear_signal_handler (&self->output_after, self->runtime);
  rl_callback_handler_remove ();
  g_clear_handle_id (&self->winch_source, g_source_remove);
  plua_repl_history_save (self);
  clear_history ();
#if !LIBEDIT
  g_clear_pointer (&completion_matches, g_strfreev);
#endif
}

#endif /* LINE_EDITING */

#if LINE_EDITING
static const PluaLineEditing table = {
  .abi = PLUA_READLINE_MODULE_ABI,
  .prompt_visible = plua_repl_prompt_visible,
  .hide_prompt = plua_repl_hide_prompt,
  .show_prompt = plua_repl_show_prompt,
  .history_add = plua_repl_history_add,
  .start = plua_repl_readline_start,
  .interrupt = plua_repl_readline_interrupt,
  .stop = plua_repl_readline_stop,
};

G_MODULE_EXPORT const PluaLineEditing *plua_readline_module_query (void);

G_MODULE_EXPORT const PluaLineEditing *
plua_readline_module_query (void)
{
  return &table;
}
#endif

/* plua-repl.c: the terminal REPL, a main-loop source on stdin.
 *
 * Input is read only when fd 0 is readable, so timers, sockets and the REST API
 * keep running while the user types. On a terminal with line editing, GNU
 * readline's callback interface does the editing and the history; otherwise
 * lines are read and split here. Each complete chunk runs once, in a coroutine
 * of the runtime, so sleep() works at the prompt.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <glib/gstdio.h>

#include <lauxlib.h>
#include <lua.h>

/* config.h defines both as 1 or 0 (meson's set10). */
#define LINE_EDITING HAVE_LINE_EDITING
#define LIBEDIT      (HAVE_LINE_EDITING && HAVE_LIBEDIT)

#if LINE_EDITING
# if LIBEDIT
#  include <editline/readline.h>
# else
#  include <readline/readline.h>
#  include <readline/history.h>
# endif
#endif

#include "plua-repl.h"

#define PROMPT            "plua> "
#define PROMPT_CONTINUE   ">> "
#define HISTORY_MAX       1000
#define CHUNK_NAME        "=stdin"
/* luaL_loadbuffer's message for a chunk that ends too early, as lua.c tests it. */
#define EOF_MARK          "<eof>"

struct _PluaRepl
{
  GObject      parent_instance;

  PluaRuntime *runtime;

  /* Lua's commands (exit, help, ...) reach the REPL through this box, cleared in
   * dispose so a command called after the REPL is gone does nothing. */
  PluaRepl   **box;
  int          box_ref;

  GString     *chunk;          /* lines of a chunk that is not complete yet */
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

  guint        is_tty : 1;
  guint        use_readline : 1;
  guint        readline_installed : 1;
  guint        in_line_handler : 1;
  guint        started : 1;
  guint        closed : 1;
  guint        eof : 1;
};

G_DEFINE_FINAL_TYPE (PluaRepl, plua_repl, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_RUNTIME,
  N_PROPS
};

enum {
  CLOSED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* readline's callbacks carry no user data and there is one stdin: the REPL that
 * owns them is kept here. Also used by done funcs that may run after the REPL
 * was disposed (a chunk sleeping when the run ends). */
static PluaRepl *the_repl;

typedef enum
{
  CHUNK_READY,        /* the compiled function is on top of the stack */
  CHUNK_INCOMPLETE,   /* wait for more lines */
  CHUNK_ERROR,        /* the syntax error message is on top of the stack */
} ChunkStatus;

static void plua_repl_close (PluaRepl *self,
                             gboolean  exit_now);

/* Output around a visible readline prompt ------------------------------------ */

static gboolean
plua_repl_prompt_visible (PluaRepl *self)
{
  return self->use_readline && self->readline_installed && !self->in_line_handler;
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

static void
plua_repl_write_stderr (PluaRepl   *self,
                        const char *text,
                        gsize       len)
{
  /* Keep the order with what the user's code already wrote to stdout. */
  fflush (stdout);
  fwrite (text, 1, len, stderr);
  if (len == 0 || text[len - 1] != '\n')
    fputc ('\n', stderr);
  fflush (stderr);
}

/* Splits text into the lines plua_runtime_output() expects. */
static void
plua_repl_output (PluaRepl   *self,
                  const char *text,
                  gsize       len)
{
  const char *end = text + len;

  for (;;)
    {
      const char *nl = memchr (text, '\n', end - text);

      if (nl == NULL)
        {
          plua_runtime_output (self->runtime, text, end - text);
          break;
        }
      plua_runtime_output (self->runtime, text, nl - text);
      text = nl + 1;
    }
}

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
  if (!self->use_readline || entry[0] == '\0' || g_strcmp0 (entry, self->last_history) == 0)
    return;

  g_free (self->last_history);
  free (self->saved_line);
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

/* Running chunks ------------------------------------------------------------ */

static gboolean
plua_repl_is_incomplete (lua_State *L)
{
  gsize len;
  const char *msg = lua_tolstring (L, -1, &len);

  return msg != NULL && len >= strlen (EOF_MARK)
         && strcmp (msg + len - strlen (EOF_MARK), EOF_MARK) == 0;
}

/* Like lua.c: an expression is printed, so "return " is tried first; the chunk
 * itself only when that does not compile. */
static ChunkStatus
plua_repl_compile (PluaRepl  *self,
                   lua_State *L)
{
  g_autofree char *expression = g_strconcat ("return ", self->chunk->str, NULL);
  gboolean expression_incomplete;
  int status;

  status = luaL_loadbuffer (L, expression, strlen (expression), CHUNK_NAME);
  if (status == LUA_OK)
    return CHUNK_READY;
  expression_incomplete = status == LUA_ERRSYNTAX && plua_repl_is_incomplete (L);
  lua_pop (L, 1);

  status = luaL_loadbuffer (L, self->chunk->str, self->chunk->len, CHUNK_NAME);
  if (status == LUA_OK)
    return CHUNK_READY;
  /* "1 +" is a broken statement but an unfinished expression: keep reading. */
  if (status == LUA_ERRSYNTAX && (plua_repl_is_incomplete (L) || expression_incomplete))
    {
      lua_pop (L, 1);
      return CHUNK_INCOMPLETE;
    }
  return CHUNK_ERROR;
}

/* Runs in a pcall on the main state: the results as lua.c prints them. */
static int
plua_repl_format_results (lua_State *L)
{
  int n = lua_gettop (L);
  luaL_Buffer b;

  lua_getglobal (L, "tostring");
  for (int i = 1; i <= n; i++)
    {
      if (lua_isfunction (L, n + 1))
        {
          lua_pushvalue (L, n + 1);
          lua_pushvalue (L, i);
          lua_call (L, 1, 1);
          if (lua_type (L, -1) != LUA_TSTRING)
            return luaL_error (L, "'tostring' must return a string");
        }
      else
        luaL_tolstring (L, i, NULL);
      lua_replace (L, i);
    }
  lua_settop (L, n);

  luaL_buffinit (L, &b);
  for (int i = 1; i <= n; i++)
    {
      if (i > 1)
        luaL_addchar (&b, '\t');
      lua_pushvalue (L, i);
      luaL_addvalue (&b);
    }
  luaL_pushresult (&b);
  return 1;
}

static void
plua_repl_print_results (PluaRepl  *self,
                         lua_State *co,
                         int        nresults)
{
  lua_State *L = plua_runtime_get_state (self->runtime);
  int first = lua_gettop (co) - nresults + 1;
  const char *text;
  gsize len;

  if (nresults <= 0)
    return;
  if (!lua_checkstack (L, nresults + LUA_MINSTACK))
    {
      const char *msg = _("too many results to print");

      plua_repl_write_stderr (self, msg, strlen (msg));
      return;
    }

  /* Copies, so co's stack stays as the runtime handed it over. */
  lua_checkstack (co, 1);
  lua_pushcfunction (L, plua_repl_format_results);
  for (int i = 0; i < nresults; i++)
    {
      lua_pushvalue (co, first + i);
      lua_xmove (co, L, 1);
    }

  if (lua_pcall (L, nresults, 1, 0) == LUA_OK)
    {
      text = lua_tolstring (L, -1, &len);
      plua_repl_output (self, text, len);
    }
  else
    {
      g_autofree char *msg = NULL;

      text = lua_tostring (L, -1);
      msg = g_strdup_printf (_("error calling 'tostring' (%s)"),
                             text != NULL ? text : "?");
      plua_repl_write_stderr (self, msg, strlen (msg));
    }
  lua_pop (L, 1);
}

static int
plua_repl_count_lua_frames (lua_State *co)
{
  lua_Debug ar;
  int n = 0;

  for (int level = 0; lua_getstack (co, level, &ar); level++)
    {
      lua_getinfo (co, "St", &ar);
      if (ar.what[0] == 'L' || ar.what[0] == 'm')
        n++;
      /* "return f()" replaced the chunk's own frame. */
      if (ar.istailcall)
        n++;
    }
  return n;
}

static int
plua_repl_tostring_meta (lua_State *L)
{
  luaL_tolstring (L, 1, NULL);
  return 1;
}

/* The message like lua.c's message handler makes it, with a traceback only when
 * the error comes from deeper than the typed chunk itself. */
static void
plua_repl_print_error (PluaRepl  *self,
                       lua_State *co)
{
  lua_State *L = plua_runtime_get_state (self->runtime);
  const char *msg;
  const char *text;
  gsize len;
  int top = lua_gettop (L);

  lua_checkstack (L, LUA_MINSTACK);
  lua_checkstack (co, 1);
  lua_pushvalue (co, -1);
  lua_xmove (co, L, 1);

  msg = lua_tostring (L, -1);
  if (msg == NULL)
    {
      if (luaL_getmetafield (L, -1, "__tostring") != LUA_TNIL)
        {
          lua_pop (L, 1);
          lua_pushcfunction (L, plua_repl_tostring_meta);
          lua_insert (L, -2);
          if (lua_pcall (L, 1, 1, 0) == LUA_OK)
            msg = lua_tostring (L, -1);
        }
      if (msg == NULL)
        msg = lua_pushfstring (L, "(error object is a %s value)",
                               luaL_typename (co, -1));
    }

  if (plua_repl_count_lua_frames (co) > 1)
    luaL_traceback (L, co, msg, 0);

  text = lua_tolstring (L, -1, &len);
  plua_repl_write_stderr (self, text, len);
  lua_settop (L, top);
}

static gboolean plua_repl_drain_idle (gpointer user_data);

static void
plua_repl_stop_waiting (PluaRepl *self)
{
  self->waiting_serial = 0;
  if (!self->closed && self->drain_source == 0)
    self->drain_source = g_idle_add (plua_repl_drain_idle, self);
}

static void
plua_repl_done (PluaRuntime *runtime,
                lua_State   *co,
                int          status,
                int          nresults,
                gpointer     user_data)
{
  PluaRepl *self = the_repl;
  gboolean async;

  if (self == NULL || self->runtime != runtime)
    return;

  async = !self->in_line_handler;
  if (async)
    plua_repl_hide_prompt (self);
  if (status == LUA_OK)
    plua_repl_print_results (self, co, nresults);
  else
    plua_repl_print_error (self, co);
  if (async)
    plua_repl_show_prompt (self);

  /* Piped input waits for a chunk that slept: go on with the next lines. */
  if (GPOINTER_TO_UINT (user_data) == self->waiting_serial)
    {
      if (async)
        plua_repl_stop_waiting (self);
      else
        self->waiting_serial = 0;
    }
}

/* A chunk that yielded with nothing pending (a bare coroutine.yield()) would
 * never be resumed: piped input does not wait for it forever. */
static void
plua_repl_on_dispatched (PluaRuntime *runtime,
                         PluaRepl    *self)
{
  if (self->waiting_serial != 0 && plua_runtime_get_total_pending (runtime) == 0)
    plua_repl_stop_waiting (self);
}

static void
plua_repl_run_chunk (PluaRepl  *self,
                     lua_State *L)
{
  gboolean was_in_handler = self->in_line_handler;

  /* Marks the done func that may run before spawn returns as synchronous. */
  guint serial;

  if (++self->next_serial == 0)
    self->next_serial = 1;
  serial = self->next_serial;
  if (!self->is_tty)
    self->waiting_serial = serial;

  self->in_line_handler = TRUE;
  plua_runtime_spawn (self->runtime, L, 0, PLUA_SPAWN_QUIET, plua_repl_done,
                      GUINT_TO_POINTER (serial));
  self->in_line_handler = was_in_handler;

  if (self->waiting_serial != 0 && plua_runtime_get_total_pending (self->runtime) == 0)
    self->waiting_serial = 0;
  plua_runtime_dispatched (self->runtime);
}

/* One line typed (or read from the pipe), without its newline. */
static void
plua_repl_handle_line (PluaRepl   *self,
                       const char *line)
{
  lua_State *L = plua_runtime_get_state (self->runtime);
  ChunkStatus status;

  if (self->chunk->len == 0)
    {
      g_autofree char *trimmed = g_strstrip (g_strdup (line));

      if (trimmed[0] == '\0')
        return;
      /* Bare "exit" and "quit" as in many shells, not only the functions. */
      if (strcmp (trimmed, "exit") == 0 || strcmp (trimmed, "quit") == 0)
        {
          plua_repl_history_add (self, trimmed);
          plua_repl_close (self, TRUE);
          return;
        }
    }
  else
    g_string_append_c (self->chunk, '\n');
  g_string_append (self->chunk, line);

  status = plua_repl_compile (self, L);
  if (status == CHUNK_INCOMPLETE)
    return;

  plua_repl_history_add (self, self->chunk->str);
  g_string_truncate (self->chunk, 0);

  if (status == CHUNK_ERROR)
    {
      gsize len;
      const char *msg = lua_tolstring (L, -1, &len);

      plua_repl_write_stderr (self, msg, len);
      lua_pop (L, 1);
      return;
    }

  plua_repl_run_chunk (self, L);
}

/* At the end of input an unfinished chunk is an error, as in lua. */
static void
plua_repl_flush_chunk (PluaRepl *self)
{
  lua_State *L = plua_runtime_get_state (self->runtime);

  if (self->chunk->len == 0)
    return;

  if (luaL_loadbuffer (L, self->chunk->str, self->chunk->len, CHUNK_NAME) == LUA_OK)
    plua_repl_run_chunk (self, L);
  else
    {
      gsize len;
      const char *msg = lua_tolstring (L, -1, &len);

      plua_repl_write_stderr (self, msg, len);
      lua_pop (L, 1);
    }
  g_string_truncate (self->chunk, 0);
}

/* Reading without readline --------------------------------------------------- */

static void
plua_repl_print_prompt (PluaRepl *self)
{
  if (!self->is_tty || self->use_readline || self->closed)
    return;

  fflush (stdout);
  fputs (self->chunk->len > 0 ? PROMPT_CONTINUE : PROMPT, self->prompt_stream);
  fflush (self->prompt_stream);
}

/* Runs the complete lines in self->input. Piped input waits while a chunk is
 * suspended (sleep), so a script fed through a pipe runs in order; on a
 * terminal the next prompt comes at once. */
static void
plua_repl_drain (PluaRepl *self)
{
  g_autoptr(PluaRepl) hold = g_object_ref (self);
  gsize pos = 0;
  gboolean wrote = FALSE;

  while (!self->closed && self->waiting_serial == 0)
    {
      const char *start = self->input->str + pos;
      const char *nl = memchr (start, '\n', self->input->len - pos);
      g_autofree char *line = NULL;
      gsize len;

      if (nl == NULL)
        break;
      len = nl - start;
      if (len > 0 && start[len - 1] == '\r')
        len--;
      line = g_strndup (start, len);
      pos = nl - self->input->str + 1;
      plua_repl_handle_line (self, line);
      wrote = TRUE;
    }
  g_string_erase (self->input, 0, pos);

  if (self->closed || !self->eof || self->waiting_serial != 0)
    {
      if (wrote)
        plua_repl_print_prompt (self);
      return;
    }

  /* The last line may have no newline. */
  if (self->input->len > 0)
    {
      g_autofree char *line = g_strndup (self->input->str, self->input->len);

      g_string_truncate (self->input, 0);
      plua_repl_handle_line (self, line);
      if (self->closed || self->waiting_serial != 0)
        return;
    }

  plua_repl_flush_chunk (self);
  if (self->closed || self->waiting_serial != 0)
    return;

  if (self->is_tty)
    {
      /* Ctrl-D: end the prompt's line. */
      fputc ('\n', self->prompt_stream);
      fflush (self->prompt_stream);
    }
  plua_repl_close (self, self->is_tty);
}

static gboolean
plua_repl_drain_idle (gpointer user_data)
{
  PluaRepl *self = PLUA_REPL (user_data);

  self->drain_source = 0;
  plua_repl_drain (self);
  return G_SOURCE_REMOVE;
}

static gboolean
plua_repl_on_stdin (int          fd,
                    GIOCondition condition,
                    gpointer     user_data)
{
  g_autoptr(PluaRepl) self = g_object_ref (PLUA_REPL (user_data));
  char buf[4096];
  gssize n;

  n = read (fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return G_SOURCE_CONTINUE;

  if (n > 0)
    g_string_append_len (self->input, buf, n);
  else
    {
      /* End of input (or an error reading it, which ends it as well). */
      self->eof = TRUE;
      self->stdin_source = 0;
    }

  plua_repl_drain (self);
  return self->eof ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

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
  PluaRepl *self = the_repl;

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
  PluaRepl *self = the_repl;
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

/* Closing -------------------------------------------------------------------- */

static void
plua_repl_stop_reading (PluaRepl *self)
{
  g_clear_handle_id (&self->stdin_source, g_source_remove);
  g_clear_handle_id (&self->drain_source, g_source_remove);
  g_clear_signal_handler (&self->dispatched_handler, self->runtime);
#if LINE_EDITING
  plua_repl_readline_stop (self);
#endif
}

static void
plua_repl_close (PluaRepl *self,
                 gboolean  exit_now)
{
  g_autoptr(PluaRepl) hold = NULL;

  if (self->closed)
    return;

  hold = g_object_ref (self);
  self->closed = TRUE;
  if (plua_repl_prompt_visible (self))
    {
      /* exit() from a timer: leave the prompt's line first. */
      fputc ('\n', self->prompt_stream);
      fflush (self->prompt_stream);
    }
  plua_repl_stop_reading (self);
  g_signal_emit (self, signals[CLOSED], 0, exit_now);
}

/* The REPL's commands in Lua -------------------------------------------------- */

static PluaRepl *
plua_repl_from_lua (lua_State *L)
{
  PluaRepl **box = lua_touserdata (L, lua_upvalueindex (1));

  return box != NULL ? *box : NULL;
}

static int
plua_repl_lua_exit (lua_State *L)
{
  PluaRepl *self = plua_repl_from_lua (L);

  if (self == NULL)
    return 0;
  /* Already closed at the end of piped input: a timer may still end the run. */
  if (self->closed)
    plua_runtime_request_exit (self->runtime, 0);
  else
    plua_repl_close (self, TRUE);
  return 0;
}

static int
plua_repl_lua_help (lua_State *L)
{
  PluaRepl *self = plua_repl_from_lua (L);
  const char *help;

  if (self == NULL)
    return 0;

  help = _("Commands:\n"
           "  help()                 this text\n"
           "  state()                what the runtime is waiting for\n"
           "  exit(), quit()         leave (Ctrl-D on an empty line does too)\n"
           "Timers (milliseconds):\n"
           "  setTimeout(fn, ms)     run fn once; returns an id for clearTimeout(id)\n"
           "  setInterval(fn, ms)    run fn every ms; clearInterval(id) stops it\n"
           "  sleep(ms)              pause the current chunk, timers keep running\n"
           "JSON:\n"
           "  json.encode(value)     a Lua value as JSON text\n"
           "  json.decode(text)      JSON text as a Lua value\n"
           "Hooks in the _PY table:\n"
           "  _PY.isRunning(state)   return false to end the run\n"
           "  _PY.main_file_hook     loads the main script\n"
           "  _PY.config             how plua was started\n"
           "Typing:\n"
           "  An expression shows its value: 1+1 prints 2.\n"
           "  An unfinished chunk continues on the \">> \" prompt.\n"
           "  Each chunk is its own scope: keep values in globals, not locals.\n"
           "  Ctrl-C clears the line, Ctrl-D exits, Up and Down browse the history,\n"
           "  Tab completes global names and table fields.");
  plua_repl_output (self, help, strlen (help));
  return 0;
}

static int
plua_repl_lua_state (lua_State *L)
{
  PluaRepl *self = plua_repl_from_lua (L);
  static const struct
  {
    PluaPendingKind kind;
    const char *label;
  } kinds[] = {
    { PLUA_PENDING_TIMER, N_("Timers") },
    { PLUA_PENDING_SOCKET, N_("Sockets") },
    { PLUA_PENDING_SERVER, N_("Servers") },
    { PLUA_PENDING_REQUEST, N_("Requests") },
  };
  const char *title;

  if (self == NULL)
    return 0;

  title = _("Runtime state:");
  plua_runtime_output (self->runtime, title, strlen (title));
  for (gsize i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      g_autofree char *line = g_strdup_printf ("  %s: %u", _(kinds[i].label),
                                               plua_runtime_get_pending (self->runtime,
                                                                         kinds[i].kind));

      plua_runtime_output (self->runtime, line, strlen (line));
    }
  return 0;
}

static const luaL_Reg plua_repl_commands[] = {
  { "help", plua_repl_lua_help },
  { "exit", plua_repl_lua_exit },
  { "quit", plua_repl_lua_exit },
  { "state", plua_repl_lua_state },
  { NULL, NULL }
};

static void
plua_repl_install_commands (PluaRepl *self)
{
  lua_State *L = plua_runtime_get_state (self->runtime);

  lua_pushglobaltable (L);
  self->box = lua_newuserdatauv (L, sizeof (PluaRepl *), 0);
  *self->box = self;
  lua_pushvalue (L, -1);
  self->box_ref = luaL_ref (L, LUA_REGISTRYINDEX);
  luaL_setfuncs (L, plua_repl_commands, 1);
  lua_pop (L, 1);
}

/* GObject --------------------------------------------------------------------- */

static void
plua_repl_dispose (GObject *object)
{
  PluaRepl *self = (PluaRepl *)object;

  plua_repl_stop_reading (self);
  if (the_repl == self)
    the_repl = NULL;

  if (self->box != NULL)
    {
      *self->box = NULL;
      self->box = NULL;
      luaL_unref (plua_runtime_get_state (self->runtime), LUA_REGISTRYINDEX, self->box_ref);
      self->box_ref = LUA_NOREF;
    }

  g_clear_object (&self->runtime);

  G_OBJECT_CLASS (plua_repl_parent_class)->dispose (object);
}

static void
plua_repl_finalize (GObject *object)
{
  PluaRepl *self = (PluaRepl *)object;

  g_string_free (self->chunk, TRUE);
  g_string_free (self->input, TRUE);
  g_free (self->history_path);
  g_free (self->last_history);
  free (self->saved_line);

  G_OBJECT_CLASS (plua_repl_parent_class)->finalize (object);
}

static void
plua_repl_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  PluaRepl *self = PLUA_REPL (object);

  switch (prop_id)
    {
    case PROP_RUNTIME:
      g_value_set_object (value, self->runtime);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
plua_repl_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  PluaRepl *self = PLUA_REPL (object);

  switch (prop_id)
    {
    case PROP_RUNTIME:
      self->runtime = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
plua_repl_class_init (PluaReplClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = plua_repl_dispose;
  object_class->finalize = plua_repl_finalize;
  object_class->get_property = plua_repl_get_property;
  object_class->set_property = plua_repl_set_property;

  properties[PROP_RUNTIME] =
    g_param_spec_object ("runtime", NULL, NULL,
                         PLUA_TYPE_RUNTIME,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * PluaRepl::closed:
   * @exit_now: %TRUE when the user asked to leave (the run ends at once),
   *   %FALSE at the end of piped input (the run ends when idle)
   */
  signals[CLOSED] =
    g_signal_new ("closed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL,
                  g_cclosure_marshal_VOID__BOOLEAN,
                  G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
  g_signal_set_va_marshaller (signals[CLOSED],
                              G_TYPE_FROM_CLASS (klass),
                              g_cclosure_marshal_VOID__BOOLEANv);
}

static void
plua_repl_init (PluaRepl *self)
{
  self->chunk = g_string_new (NULL);
  self->input = g_string_new (NULL);
  self->box_ref = LUA_NOREF;
}

PluaRepl *
plua_repl_new (PluaRuntime *runtime)
{
  g_return_val_if_fail (PLUA_IS_RUNTIME (runtime), NULL);

  return g_object_new (PLUA_TYPE_REPL,
                       "runtime", runtime,
                       NULL);
}

void
plua_repl_start (PluaRepl *self)
{
  g_return_if_fail (PLUA_IS_REPL (self));
  g_return_if_fail (!self->started);
  g_return_if_fail (the_repl == NULL);

  self->started = TRUE;
  the_repl = self;
  self->is_tty = isatty (STDIN_FILENO);
  /* With stdout redirected, prompts and editing still belong on the terminal. */
  self->prompt_stream = !isatty (STDOUT_FILENO) && isatty (STDERR_FILENO) ? stderr : stdout;
  self->use_readline = self->is_tty && LINE_EDITING;

  plua_repl_install_commands (self);

  if (self->is_tty)
    {
      fflush (stdout);
      fprintf (stderr, _("plua %s — %s on GLib\n"), PACKAGE_VERSION, LUA_RELEASE);
      fprintf (stderr, "%s\n", _("Type help() for help, exit() or Ctrl-D to leave."));
      fflush (stderr);
    }

#if LINE_EDITING
  if (self->use_readline)
    {
      plua_repl_readline_start (self);
      self->stdin_source = g_unix_fd_add (STDIN_FILENO, G_IO_IN | G_IO_HUP | G_IO_ERR,
                                          plua_repl_on_stdin_readline, self);
      return;
    }
#endif

  if (!self->is_tty)
    self->dispatched_handler = g_signal_connect (self->runtime, "dispatched",
                                                 G_CALLBACK (plua_repl_on_dispatched), self);
  plua_repl_print_prompt (self);
  self->stdin_source = g_unix_fd_add (STDIN_FILENO, G_IO_IN | G_IO_HUP | G_IO_ERR,
                                      plua_repl_on_stdin, self);
}

gboolean
plua_repl_interrupt (PluaRepl *self)
{
  g_return_val_if_fail (PLUA_IS_REPL (self), FALSE);

  if (!self->started || self->closed || !self->is_tty)
    return FALSE;

  g_string_truncate (self->chunk, 0);

#if LINE_EDITING
  if (self->use_readline)
    {
      fputs ("^C", rl_outstream);
      rl_free_line_state ();
# if !LIBEDIT
      rl_callback_sigcleanup ();
# endif
      rl_replace_line ("", 0);
      rl_crlf ();
      rl_set_prompt (PROMPT);
      rl_on_new_line ();
      rl_redisplay ();
      return TRUE;
    }
#endif

  /* The terminal discards its own line on ^C; drop what was read of it. */
  g_string_truncate (self->input, 0);
  fputc ('\n', self->prompt_stream);
  plua_repl_print_prompt (self);
  return TRUE;
}

void
plua_repl_stop (PluaRepl *self)
{
  g_return_if_fail (PLUA_IS_REPL (self));

  self->closed = TRUE;
  plua_repl_stop_reading (self);
}

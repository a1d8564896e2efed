/* plua-repl.c: the terminal REPL, a main-loop source on stdin.
 *
 * Input is read only when fd 0 is readable, so timers, sockets and the REST API
 * keep running while the user types. On a terminal with line editing, GNU
 * readline's callback interface does the editing and the history; otherwise
 * lines are read and split here. Each complete chunk runs once, in a coroutine
 * of the runtime, so sleep() works at the prompt.
 *
 * Line editing lives in plua-repl-readline.c, the commands installed in Lua
 * (help(), exit(), ...) in plua-repl-commands.c.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <glib-unix.h>

#include <lauxlib.h>
#include <lua.h>

#include "plua-modules.h"
#include "plua-repl-private.h"

#define CHUNK_NAME        "=stdin"
/* luaL_loadbuffer's message for a chunk that ends too early, as lua.c tests it. */
#define EOF_MARK          "<eof>"

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
 * owns them is kept here (plua-repl-readline.c reads it through
 * plua_repl_get_current()). Also used by done funcs that may run after the REPL
 * was disposed (a chunk sleeping when the run ends). */
static PluaRepl *the_repl;

typedef enum
{
  CHUNK_READY,        /* the compiled function is on top of the stack */
  CHUNK_INCOMPLETE,   /* wait for more lines */
  CHUNK_ERROR,        /* the syntax error message is on top of the stack */
} ChunkStatus;

PluaRepl *
plua_repl_get_current (void)
{
  return the_repl;
}

/* Line editing, from plua-readline.so ----------------------------------------- */

/* Loads the module for a REPL on a terminal; without it the REPL reads lines
 * as it does from a pipe, and says why once. */
static void
load_line_editing (PluaRepl *self)
{
  g_autoptr(GError) error = NULL;

  self->editing = plua_modules_load ("readline", PLUA_READLINE_MODULE_ABI, &error);
  if (self->editing == NULL)
    g_printerr (_("plua: no line editing: %s\n"), error->message);
}

static gboolean
editing_prompt_visible (PluaRepl *self)
{
  return self->editing != NULL && self->editing->prompt_visible (self);
}

static void
editing_hide_prompt (PluaRepl *self)
{
  if (self->editing != NULL)
    self->editing->hide_prompt (self);
}

static void
editing_show_prompt (PluaRepl *self)
{
  if (self->editing != NULL)
    self->editing->show_prompt (self);
}

static void
editing_history_add (PluaRepl   *self,
                     const char *entry)
{
  if (self->editing != NULL)
    self->editing->history_add (self, entry);
}

static void
editing_stop (PluaRepl *self)
{
  if (self->editing != NULL)
    self->editing->stop (self);
}

/* Output ---------------------------------------------------------------------- */

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
void
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
plua_repl_compiled (PluaRepl  *self,
                    lua_State *L)
{
  if (plua_runtime_set_chunk_env (self->runtime, L, self->qa_target) != LUA_OK)
    return CHUNK_ERROR;
  return CHUNK_READY;
}

static ChunkStatus
plua_repl_compile (PluaRepl  *self,
                   lua_State *L)
{
  g_autofree char *expression = NULL;
  gboolean expression_incomplete;
  int status;

  /* "=expr" as lua5.1's REPL and lua.c's habit: the value of expr */
  if (self->chunk->str[0] == '=')
    expression = g_strconcat ("return ", self->chunk->str + 1, NULL);
  else
    expression = g_strconcat ("return ", self->chunk->str, NULL);
  status = luaL_loadbuffer (L, expression, strlen (expression), CHUNK_NAME);
  if (status == LUA_OK)
    return plua_repl_compiled (self, L);
  expression_incomplete = status == LUA_ERRSYNTAX && plua_repl_is_incomplete (L);
  if (self->chunk->str[0] == '=')
    return expression_incomplete ? (lua_pop (L, 1), CHUNK_INCOMPLETE) : CHUNK_ERROR;
  lua_pop (L, 1);

  status = luaL_loadbuffer (L, self->chunk->str, self->chunk->len, CHUNK_NAME);
  if (status == LUA_OK)
    return plua_repl_compiled (self, L);
  /* "1 +" is a broken statement but an unfinished expression: keep reading. */
  if (status == LUA_ERRSYNTAX && (plua_repl_is_incomplete (L) || expression_incomplete))
    {
      lua_pop (L, 1);
      return CHUNK_INCOMPLETE;
    }
  return CHUNK_ERROR;
}

static gboolean
has_tostring (lua_State *L,
              int        index)
{
  if (luaL_getmetafield (L, index, "__tostring") == LUA_TNIL)
    return FALSE;
  lua_pop (L, 1);
  return TRUE;
}

/* Runs in a pcall on the main state: the results as lua.c prints them,
 * tables nested as _PY.pretty shows them. */
static int
plua_repl_format_results (lua_State *L)
{
  int n = lua_gettop (L);
  luaL_Buffer b;

  lua_getglobal (L, "tostring");
  lua_getglobal (L, "_PY");
  if (lua_istable (L, -1))
    lua_getfield (L, -1, "pretty");
  else
    lua_pushnil (L);
  lua_remove (L, -2);
  for (int i = 1; i <= n; i++)
    {
      /* a table without __tostring: nested, keys sorted (_PY.pretty) */
      if (lua_istable (L, i) && lua_isfunction (L, n + 2) && !has_tostring (L, i))
        {
          lua_pushvalue (L, n + 2);
          lua_pushvalue (L, i);
          lua_call (L, 1, 1);
          if (lua_type (L, -1) != LUA_TSTRING)
            return luaL_error (L, "'_PY.pretty' must return a string");
        }
      else if (lua_isfunction (L, n + 1))
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
    editing_hide_prompt (self);
  if (status == LUA_OK)
    plua_repl_print_results (self, co, nresults);
  else
    plua_repl_print_error (self, co);
  if (async)
    editing_show_prompt (self);

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

/* `:qa ID` (under --fibaro): later chunks run in that QuickApp's
 * environment; `:qa` alone goes back to the default (the main QuickApp). */
static void
plua_repl_choose_qa (PluaRepl   *self,
                     const char *id)
{
  lua_State *L = plua_runtime_get_state (self->runtime);
  const char *target = id[0] != '\0' ? id : NULL;
  g_autofree char *message = NULL;

  lua_pushnil (L);   /* a stand-in chunk: only the answer matters */
  if (plua_runtime_set_chunk_env (self->runtime, L, target) != LUA_OK)
    {
      gsize len;
      const char *msg = lua_tolstring (L, -1, &len);

      plua_repl_write_stderr (self, msg != NULL ? msg : "?", msg != NULL ? len : 1);
      lua_pop (L, 1);
      return;
    }
  lua_pop (L, 1);
  g_free (self->qa_target);
  self->qa_target = g_strdup (target);
  message = target != NULL ? g_strdup_printf (_("code runs in QuickApp %s"), target)
                           : g_strdup (_("code runs in the main QuickApp"));
  plua_repl_output (self, message, strlen (message));
}

/* One line typed (or read from the pipe), without its newline. */
void
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
      if (g_str_has_prefix (trimmed, ":qa") && (trimmed[3] == '\0' || g_ascii_isspace (trimmed[3])))
        {
          editing_history_add (self, trimmed);
          plua_repl_choose_qa (self, g_strstrip (trimmed + 3));
          return;
        }
      /* Bare "exit" and "quit" as in many shells, not only the functions. */
      if (strcmp (trimmed, "exit") == 0 || strcmp (trimmed, "quit") == 0)
        {
          editing_history_add (self, trimmed);
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

  editing_history_add (self, self->chunk->str);
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

  if (luaL_loadbuffer (L, self->chunk->str, self->chunk->len, CHUNK_NAME) == LUA_OK &&
      plua_repl_compiled (self, L) == CHUNK_READY)
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
  if (!self->is_tty || self->editing != NULL || self->closed)
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

/* Closing -------------------------------------------------------------------- */

static void
plua_repl_stop_reading (PluaRepl *self)
{
  g_clear_handle_id (&self->stdin_source, g_source_remove);
  g_clear_handle_id (&self->drain_source, g_source_remove);
  g_clear_signal_handler (&self->dispatched_handler, self->runtime);
  editing_stop (self);
}

void
plua_repl_close (PluaRepl *self,
                 gboolean  exit_now)
{
  g_autoptr(PluaRepl) hold = NULL;

  if (self->closed)
    return;

  hold = g_object_ref (self);
  self->closed = TRUE;
  if (editing_prompt_visible (self))
    {
      /* exit() from a timer: leave the prompt's line first. */
      fputc ('\n', self->prompt_stream);
      fflush (self->prompt_stream);
    }
  plua_repl_stop_reading (self);
  g_signal_emit (self, signals[CLOSED], 0, exit_now);
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
  g_free (self->qa_target);
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
  if (self->is_tty && LINE_EDITING)
    load_line_editing (self);

  plua_repl_install_commands (self);

  if (self->is_tty)
    {
      fflush (stdout);
      fprintf (stderr, _("plua %s — %s on GLib\n"), PACKAGE_VERSION, LUA_RELEASE);
      fprintf (stderr, "%s\n", _("Type help() for help, exit() or Ctrl-D to leave."));
      fflush (stderr);
    }

  if (self->editing != NULL)
    {
      self->editing->start (self);
      return;
    }

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

  if (self->editing != NULL)
    {
      self->editing->interrupt (self);
      return TRUE;
    }

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

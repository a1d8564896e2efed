/* plua-runtime.c: the one lua_State and everything that runs in it.
 *
 * Lua is only ever entered from the main thread, from a GLib event, and never
 * re-entered while it runs. Every piece of Lua work (a script, a fragment, a
 * timer callback, a REPL line) runs in a coroutine so it may sleep(); finished
 * coroutines go back to a small pool, which keeps that cheap.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib/gi18n.h>
#include <gio/gio.h>
#include <lauxlib.h>
#include <lualib.h>

#include "plua-clock.h"
#include "plua-dotenv.h"
#include "plua-hooks.h"
#include "plua-json.h"
#include "plua-mqtt-module.h"
#include "plua-net.h"
#include "plua-pybridge.h"
#include "plua-runtime.h"
#include "plua-soup-module.h"
#include "plua-timers.h"

/* Enough for a burst of concurrent callbacks; more are created on demand and
 * dropped when they finish. */
#define POOL_SIZE 32

/* Where a coroutine that yielded keeps what its spawner asked for, so that its
 * end is handled the same way when a timer resumes it much later. A full
 * userdata in a weak-keyed registry table keyed by the thread: when nobody
 * can resume the thread any more, both go away with it. */
typedef struct
{
  PluaSpawnFlags flags;
  PluaDoneFunc   done;
  gpointer       user_data;
} PluaTask;

static const char tasks_key = 'T';

struct _PluaRuntime
{
  GObject           parent_instance;

  lua_State        *L;
  const PluaConfig *config;

  lua_State        *pool[POOL_SIZE];
  int               pool_refs[POOL_SIZE];
  guint             pool_len;

  guint             pending[PLUA_PENDING_N_KINDS];
  gboolean          had_error;
  guint             app_errors;   /* QuickApp errors the emulator reported */

  gboolean          in_dispatched;
  gboolean          output_since_dispatched;
};

G_DEFINE_FINAL_TYPE (PluaRuntime, plua_runtime, G_TYPE_OBJECT)

enum {
  SIGNAL_OUTPUT,
  SIGNAL_DISPATCHED,
  SIGNAL_EXIT_REQUESTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
plua_runtime_finalize (GObject *object)
{
  PluaRuntime *self = PLUA_RUNTIME (object);

  /* Closing runs the __gc of every module (timers drop their GSource here). */
  g_clear_pointer (&self->L, lua_close);

  G_OBJECT_CLASS (plua_runtime_parent_class)->finalize (object);
}

static void
plua_runtime_class_init (PluaRuntimeClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = plua_runtime_finalize;

  /**
   * PluaRuntime::output:
   * @text: one line the script printed, without the newline
   * @len: its length in bytes (it may contain NUL bytes)
   *
   * The single output path: print, REPL results. The terminal, the REST
   * server's web REPL and the D-Bus interface all listen here.
   */
  signals[SIGNAL_OUTPUT] =
    g_signal_new ("output", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2,
                  G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE, G_TYPE_UINT64);

  /**
   * PluaRuntime::dispatched:
   *
   * Emitted after a batch of Lua callbacks ran, by whatever event source ran
   * them, through plua_runtime_dispatched(): the moment to check whether the
   * run is over.
   */
  signals[SIGNAL_DISPATCHED] =
    g_signal_new ("dispatched", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /**
   * PluaRuntime::exit-requested:
   * @status: the exit status asked for
   */
  signals[SIGNAL_EXIT_REQUESTED] =
    g_signal_new ("exit-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT);
}

static void
plua_runtime_init (PluaRuntime *self)
{
}

/* print(...): tostring on each argument, tab separated, as standard Lua does,
 * but through the runtime's single output path. */
static int
plua_print (lua_State *L)
{
  PluaRuntime *self = plua_runtime_from_lua (L);
  int n = lua_gettop (L);
  luaL_Buffer b;

  luaL_buffinit (L, &b);
  for (int i = 1; i <= n; i++)
    {
      if (i > 1)
        luaL_addchar (&b, '\t');
      luaL_tolstring (L, i, NULL);
      luaL_addvalue (&b);
    }
  luaL_pushresult (&b);

  {
    size_t len;
    const char *line = lua_tolstring (L, -1, &len);
    plua_runtime_output (self, line, len);
  }
  return 0;
}

/* Loads the bundled module `name` (dots as slashes) and pushes the chunk and
 * its resource path; returns 0 when there is no such module. No lua_error in
 * here: the GLib allocations must be freed first. */
static int
load_bundled_module (lua_State  *L,
                     const char *name)
{
  g_autofree char *path = g_strdelimit (g_strdup (name), ".", '/');
  const char *suffixes[] = { ".lua", "/init.lua" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *resource = g_strconcat (PLUA_RESOURCE_PREFIX "/lua/", path, suffixes[i], NULL);
      g_autoptr(GBytes) bytes = g_resources_lookup_data (resource, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
      g_autofree char *chunkname = NULL;
      gsize size;
      const char *data;

      if (bytes == NULL)
        continue;

      data = g_bytes_get_data (bytes, &size);
      chunkname = g_strdup_printf ("@resource://%s", resource);
      if (luaL_loadbuffer (L, data, size, chunkname) != LUA_OK)
        return -1;   /* the message is on the stack */
      lua_pushstring (L, resource);
      return 2;
    }
  return 0;
}

/* package.searchers entry: modules bundled in GResource under lua/. */
static int
resource_searcher (lua_State *L)
{
  const char *name = luaL_checkstring (L, 1);

  switch (load_bundled_module (L, name))
    {
    case 2:
      return 2;
    case -1:
      return luaL_error (L, "error loading bundled module '%s':\n\t%s", name, lua_tostring (L, -1));
    default:
      lua_pushfstring (L, "no bundled module '%s'", name);
      return 1;
    }
}

/* Inserts the resource searcher right after package.preload, so the runtime's
 * own modules cannot be shadowed by a stray file of the same name. */
static void
install_resource_searcher (lua_State *L)
{
  lua_getglobal (L, "package");
  lua_getfield (L, -1, "searchers");
  for (lua_Integer i = luaL_len (L, -1); i >= 2; i--)
    {
      lua_rawgeti (L, -1, i);
      lua_rawseti (L, -2, i + 1);
    }
  lua_pushcfunction (L, resource_searcher);
  lua_rawseti (L, -2, 2);
  lua_pop (L, 2);
}

static void
run_bootstrap (PluaRuntime *self)
{
  lua_State *L = self->L;
  g_autoptr(GBytes) bytes = NULL;
  const char *data;
  gsize size;

  bytes = g_resources_lookup_data (PLUA_RESOURCE_PREFIX "/lua/init.lua",
                                   G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  g_assert (bytes != NULL);   /* compiled into the binary */
  data = g_bytes_get_data (bytes, &size);
  if (luaL_loadbuffer (L, data, size, "@resource://lua/init.lua") != LUA_OK ||
      lua_pcall (L, 0, 0, 0) != LUA_OK)
    g_error ("plua bootstrap failed: %s", lua_tostring (L, -1));
}

/* The C modules, opened in this order. Adding a module is one line. */
static const lua_CFunction modules[] = {
  plua_hooks_open,
  plua_pybridge_open,
  plua_dotenv_open,
  plua_json_open,
  plua_clock_open,
  plua_timers_open,
  plua_net_tcp_open,
  plua_net_udp_open,
  plua_soup_module_open,
  plua_mqtt_module_open,
  plua_net_sync_open,
};

PluaRuntime *
plua_runtime_new (const PluaConfig *config)
{
  PluaRuntime *self;
  lua_State *L;

  g_return_val_if_fail (config != NULL, NULL);

  self = g_object_new (PLUA_TYPE_RUNTIME, NULL);
  self->config = config;

  L = self->L = luaL_newstate ();
  g_assert (L != NULL);
  *(PluaRuntime **) lua_getextraspace (L) = self;
  luaL_openlibs (L);

  lua_newtable (L);
  lua_setglobal (L, "_PY");

  lua_newtable (L);
  lua_newtable (L);
  lua_pushliteral (L, "k");
  lua_setfield (L, -2, "__mode");
  lua_setmetatable (L, -2);
  lua_rawsetp (L, LUA_REGISTRYINDEX, &tasks_key);

  lua_pushcfunction (L, plua_print);
  lua_setglobal (L, "print");
  install_resource_searcher (L);

  for (guint i = 0; i < G_N_ELEMENTS (modules); i++)
    {
      lua_pushcfunction (L, modules[i]);
      lua_call (L, 0, 0);
    }

  run_bootstrap (self);

  return self;
}

lua_State *
plua_runtime_get_state (PluaRuntime *self)
{
  g_return_val_if_fail (PLUA_IS_RUNTIME (self), NULL);

  return self->L;
}

const PluaConfig *
plua_runtime_get_config (PluaRuntime *self)
{
  g_return_val_if_fail (PLUA_IS_RUNTIME (self), NULL);

  return self->config;
}

PluaRuntime *
plua_runtime_from_lua (lua_State *L)
{
  /* Every thread inherits the main thread's extra space. */
  return *(PluaRuntime **) lua_getextraspace (L);
}

static lua_State *
pool_take (PluaRuntime *self,
           int         *ref)
{
  if (self->pool_len > 0)
    {
      self->pool_len--;
      *ref = self->pool_refs[self->pool_len];
      return self->pool[self->pool_len];
    }
  else
    {
      lua_State *co = lua_newthread (self->L);

      *ref = luaL_ref (self->L, LUA_REGISTRYINDEX);
      return co;
    }
}

static void
pool_give_back (PluaRuntime *self,
                lua_State   *co,
                int          ref)
{
  if (self->pool_len < POOL_SIZE && lua_status (co) == LUA_OK)
    {
      lua_settop (co, 0);
      self->pool[self->pool_len] = co;
      self->pool_refs[self->pool_len] = ref;
      self->pool_len++;
    }
  else
    {
      luaL_unref (self->L, LUA_REGISTRYINDEX, ref);
    }
}

static void
task_store (PluaRuntime    *self,
            lua_State      *co,
            PluaSpawnFlags  flags,
            PluaDoneFunc    done,
            gpointer        user_data)
{
  lua_State *L = self->L;
  PluaTask *task;

  lua_rawgetp (L, LUA_REGISTRYINDEX, &tasks_key);
  lua_pushthread (co);
  lua_xmove (co, L, 1);
  task = lua_newuserdatauv (L, sizeof (PluaTask), 0);
  task->flags = flags;
  task->done = done;
  task->user_data = user_data;
  lua_rawset (L, -3);
  lua_pop (L, 1);
}

/* Looks up and forgets the task record of co; FALSE when it has none. */
static gboolean
task_take (PluaRuntime *self,
           lua_State   *co,
           PluaTask    *out)
{
  lua_State *L = self->L;
  gboolean found = FALSE;

  lua_rawgetp (L, LUA_REGISTRYINDEX, &tasks_key);
  lua_pushthread (co);
  lua_xmove (co, L, 1);
  if (lua_rawget (L, -2) == LUA_TUSERDATA)
    {
      *out = *(PluaTask *) lua_touserdata (L, -1);
      found = TRUE;
      lua_pop (L, 1);
      lua_pushthread (co);
      lua_xmove (co, L, 1);
      lua_pushnil (L);
      lua_rawset (L, -3);
    }
  else
    {
      lua_pop (L, 1);
    }
  lua_pop (L, 1);
  return found;
}

/* What happens after lua_resume returned, for a fresh or a resumed coroutine.
 * Returns TRUE when co is finished (successfully or not). */
static gboolean
after_resume (PluaRuntime    *self,
              lua_State      *co,
              int             status,
              int             nresults,
              PluaSpawnFlags  flags,
              PluaDoneFunc    done,
              gpointer        user_data)
{
  if (status == LUA_YIELD)
    {
      lua_pop (co, nresults);   /* values passed to a plain yield go nowhere */
      if (done != NULL || flags != PLUA_SPAWN_DEFAULT)
        task_store (self, co, flags, done, user_data);
      return FALSE;
    }

  if (status != LUA_OK && !(flags & PLUA_SPAWN_QUIET))
    plua_runtime_report_error (self, co, NULL);
  if (done != NULL)
    done (self, co, status, status == LUA_OK ? nresults : 0, user_data);
  return TRUE;
}

void
plua_runtime_spawn (PluaRuntime    *self,
                    lua_State      *L,
                    int             nargs,
                    PluaSpawnFlags  flags,
                    PluaDoneFunc    done,
                    gpointer        user_data)
{
  lua_State *co;
  int ref;
  int status;
  int nresults = 0;

  g_return_if_fail (PLUA_IS_RUNTIME (self));

  co = pool_take (self, &ref);
  lua_xmove (L, co, nargs + 1);
  status = plua_hooks_resume (co, L, nargs, &nresults);

  if (after_resume (self, co, status, nresults, flags, done, user_data))
    pool_give_back (self, co, ref);
  else
    luaL_unref (self->L, LUA_REGISTRYINDEX, ref);   /* whoever resumes it holds it */
}

void
plua_runtime_resume (PluaRuntime *self,
                     lua_State   *co,
                     int          nargs)
{
  PluaTask task = { PLUA_SPAWN_DEFAULT, NULL, NULL };
  int status;
  int nresults = 0;

  g_return_if_fail (PLUA_IS_RUNTIME (self));

  /* Someone else may have resumed (and finished) it in the meantime. */
  if (lua_status (co) != LUA_YIELD)
    {
      lua_pop (co, nargs);
      return;
    }

  task_take (self, co, &task);
  status = plua_hooks_resume (co, self->L, nargs, &nresults);
  after_resume (self, co, status, nresults, task.flags, task.done, task.user_data);
}

/* The error object on top of co as a message (like lua.c's msghandler). */
static const char *
error_message (lua_State *co)
{
  const char *msg = lua_tostring (co, -1);

  if (msg != NULL)
    return msg;
  if (luaL_callmeta (co, -1, "__tostring") && lua_type (co, -1) == LUA_TSTRING)
    return lua_tostring (co, -1);
  return lua_pushfstring (co, "(error object is a %s value)", luaL_typename (co, -1));
}

/* The traceback without plua's own frames (the bundled Lua files, named
 * resource://...): they say nothing to the user. When no frame of the user's
 * code is left (an error in a QuickApp header, raised by the emulator), only
 * the message remains: one line, as the user's file:line already leads it. */
static char *
strip_own_frames (const char *trace)
{
  g_auto(GStrv) lines = g_strsplit (trace, "\n", -1);
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GString) frames = g_string_new (NULL);
  gboolean in_trace = FALSE;
  gboolean user_frame = FALSE;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];

      if (!in_trace && strcmp (line, "stack traceback:") == 0)
        {
          in_trace = TRUE;
          continue;
        }
      if (!in_trace)
        {
          if (out->len > 0)
            g_string_append_c (out, '\n');
          g_string_append (out, line);
          continue;
        }
      if (strstr (line, "resource://") != NULL)
        continue;
      if (strstr (line, "[C]:") == NULL)
        user_frame = TRUE;
      g_string_append_printf (frames, "\n%s", line);
    }
  if (user_frame)
    g_string_append_printf (out, "\nstack traceback:%s", frames->str);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

void
plua_runtime_report_error (PluaRuntime *self,
                           lua_State   *co,
                           const char  *context)
{
  lua_State *L = self->L;
  int top = lua_gettop (L);
  const char *msg;
  g_autofree char *trace = NULL;

  g_return_if_fail (PLUA_IS_RUNTIME (self));

  self->had_error = TRUE;
  /* Work on the main thread: a coroutine that died cannot run __tostring. */
  lua_pushvalue (co, -1);
  lua_xmove (co, L, 1);
  msg = error_message (L);
  luaL_traceback (L, co, msg, 0);
  trace = strip_own_frames (lua_tostring (L, -1));

  fflush (stdout);
  if (context != NULL)
    fprintf (stderr, "plua: %s: %s\n", context, trace);
  else
    fprintf (stderr, "plua: %s\n", trace);
  fflush (stderr);
  lua_settop (L, top);
}

void
plua_runtime_count_app_error (PluaRuntime *self)
{
  g_return_if_fail (PLUA_IS_RUNTIME (self));

  gboolean fail_fast = self->config != NULL && self->config->fail_fast;

  self->had_error = TRUE;
  /* With --fail-fast the run is ending: what the current batch still runs
   * into is not counted, the summary names the error that stopped it. */
  if (fail_fast && self->app_errors > 0)
    return;
  self->app_errors++;
  if (fail_fast)
    plua_runtime_request_exit (self, 1);
}

guint
plua_runtime_get_app_errors (PluaRuntime *self)
{
  g_return_val_if_fail (PLUA_IS_RUNTIME (self), 0);

  return self->app_errors;
}

int
plua_runtime_set_chunk_env (PluaRuntime *self,
                            lua_State   *L,
                            const char  *target)
{
  int chunk = lua_gettop (L);

  g_return_val_if_fail (PLUA_IS_RUNTIME (self), LUA_ERRRUN);

  if (lua_getglobal (L, "_PY") != LUA_TTABLE ||
      lua_getfield (L, -1, "code_env") != LUA_TFUNCTION)
    {
      lua_settop (L, chunk);
      return LUA_OK;
    }
  if (target != NULL)
    lua_pushstring (L, target);
  else
    lua_pushnil (L);
  if (lua_pcall (L, 1, 2, 0) != LUA_OK)
    {
      lua_replace (L, chunk);
      lua_settop (L, chunk);
      return LUA_ERRRUN;
    }
  if (lua_istable (L, -2))
    {
      lua_pushvalue (L, -2);
      /* a main chunk's only upvalue is _ENV */
      if (lua_setupvalue (L, chunk, 1) == NULL)
        lua_pop (L, 1);
    }
  else if (lua_isstring (L, -1))
    {
      lua_pushvalue (L, -1);
      lua_replace (L, chunk);
      lua_settop (L, chunk);
      return LUA_ERRRUN;
    }
  lua_settop (L, chunk);
  return LUA_OK;
}

gboolean
plua_runtime_had_error (PluaRuntime *self)
{
  g_return_val_if_fail (PLUA_IS_RUNTIME (self), FALSE);

  return self->had_error;
}

void
plua_runtime_output (PluaRuntime *self,
                     const char  *line,
                     gsize        len)
{
  g_return_if_fail (PLUA_IS_RUNTIME (self));

  self->output_since_dispatched = TRUE;
  g_signal_emit (self, signals[SIGNAL_OUTPUT], 0, line, (guint64) len);
}

void
plua_runtime_hold (PluaRuntime     *self,
                   PluaPendingKind  kind)
{
  g_return_if_fail (PLUA_IS_RUNTIME (self));
  g_return_if_fail (kind < PLUA_PENDING_N_KINDS);

  self->pending[kind]++;
}

void
plua_runtime_release (PluaRuntime     *self,
                      PluaPendingKind  kind)
{
  g_return_if_fail (PLUA_IS_RUNTIME (self));
  g_return_if_fail (kind < PLUA_PENDING_N_KINDS);
  g_return_if_fail (self->pending[kind] > 0);

  self->pending[kind]--;
}

guint
plua_runtime_get_pending (PluaRuntime     *self,
                          PluaPendingKind  kind)
{
  g_return_val_if_fail (PLUA_IS_RUNTIME (self), 0);
  g_return_val_if_fail (kind < PLUA_PENDING_N_KINDS, 0);

  return self->pending[kind];
}

guint
plua_runtime_get_total_pending (PluaRuntime *self)
{
  guint total = 0;

  g_return_val_if_fail (PLUA_IS_RUNTIME (self), 0);

  for (guint i = 0; i < PLUA_PENDING_N_KINDS; i++)
    total += self->pending[i];
  return total;
}

static gboolean
has_is_running_hook (PluaRuntime *self)
{
  lua_State *L = self->L;
  int top = lua_gettop (L);
  gboolean found = FALSE;

  /* Raw access: this must never raise, whatever a script did to _PY. */
  if (lua_getglobal (L, "_PY") == LUA_TTABLE)
    {
      lua_pushliteral (L, "isRunning");
      found = lua_rawget (L, -2) != LUA_TNIL;
    }
  lua_settop (L, top);
  return found;
}

void
plua_runtime_dispatched (PluaRuntime *self)
{
  g_return_if_fail (PLUA_IS_RUNTIME (self));

  /* A handler that runs Lua which ends a batch of its own must not recurse. */
  if (self->in_dispatched)
    return;
  /* The hot path (a chain of timers): nothing a listener could act on, so
   * skip the emission, which costs more than the timer itself. */
  if (!self->output_since_dispatched && plua_runtime_get_total_pending (self) > 0 &&
      !has_is_running_hook (self))
    return;
  self->output_since_dispatched = FALSE;
  self->in_dispatched = TRUE;
  g_signal_emit (self, signals[SIGNAL_DISPATCHED], 0);
  self->in_dispatched = FALSE;
}

void
plua_runtime_request_exit (PluaRuntime *self,
                           int          status)
{
  g_return_if_fail (PLUA_IS_RUNTIME (self));

  g_signal_emit (self, signals[SIGNAL_EXIT_REQUESTED], 0, status);
}

void
plua_runtime_debug (PluaRuntime *self,
                    const char  *format,
                    ...)
{
  g_autofree char *message = NULL;
  g_autoptr(GDateTime) now = NULL;
  va_list args;

  if (self->config == NULL || !self->config->debug)
    return;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  now = g_date_time_new_now_local ();
  fprintf (stderr, "[%02d:%02d:%02d.%03d] %s\n",
           g_date_time_get_hour (now), g_date_time_get_minute (now),
           g_date_time_get_second (now), g_date_time_get_microsecond (now) / 1000,
           message);
}

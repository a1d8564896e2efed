/* plua-repl-commands.c: the terminal REPL's commands, installed as Lua globals:
 * help(), exit(), quit() and state().
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include <lauxlib.h>
#include <lua.h>

#include "plua-repl-private.h"

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

void
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


/* plua-runtime.h: the one lua_State and everything that runs in it.
 *
 * PluaRuntime owns the Lua state, loads the bundled Lua code from GResource,
 * runs chunks and callbacks as coroutines from a small pool, reports errors
 * with tracebacks, is the single output path for print (the "output" signal),
 * and counts what is pending (timers, sockets, servers, requests) so the
 * application knows when a run is idle.
 */
#pragma once

#include <glib-object.h>
#include <lua.h>

#include "plua-config.h"

G_BEGIN_DECLS

#define PLUA_TYPE_RUNTIME (plua_runtime_get_type ())
G_DECLARE_FINAL_TYPE (PluaRuntime, plua_runtime, PLUA, RUNTIME, GObject)

typedef enum
{
  PLUA_PENDING_TIMER,
  PLUA_PENDING_SOCKET,
  PLUA_PENDING_SERVER,
  PLUA_PENDING_REQUEST,
  PLUA_PENDING_N_KINDS
} PluaPendingKind;

/* Called when a coroutine started with plua_runtime_spawn() finishes, either
 * normally (status LUA_OK, the nresults results on top of co's stack) or with an
 * error (status != LUA_OK, the error object on top of co's stack; already
 * reported unless the spawn asked for PLUA_SPAWN_QUIET). Not called when a
 * coroutine that yielded is later finished by someone else's coroutine.resume. */
typedef void (*PluaDoneFunc) (PluaRuntime *self,
                              lua_State   *co,
                              int          status,
                              int          nresults,
                              gpointer     user_data);

typedef enum
{
  PLUA_SPAWN_DEFAULT = 0,
  PLUA_SPAWN_QUIET   = 1 << 0,   /* the done func reports errors itself */
} PluaSpawnFlags;

PluaRuntime *plua_runtime_new            (const PluaConfig *config);
lua_State   *plua_runtime_get_state      (PluaRuntime *self);
const PluaConfig *plua_runtime_get_config (PluaRuntime *self);
PluaRuntime *plua_runtime_from_lua       (lua_State *L);

/* Pops a function and its nargs arguments from L and runs them in a pooled
 * coroutine. Returns at the first yield or when the function returns. */
void         plua_runtime_spawn          (PluaRuntime   *self,
                                          lua_State     *L,
                                          int            nargs,
                                          PluaSpawnFlags flags,
                                          PluaDoneFunc   done,
                                          gpointer       user_data);
/* Resumes a suspended coroutine with nargs values already pushed on co. */
void         plua_runtime_resume         (PluaRuntime *self,
                                          lua_State   *co,
                                          int          nargs);

/* Prints "message" with a traceback of co on stderr and remembers that the
 * run had an uncaught error (exit status 1). Pops nothing. */
void         plua_runtime_report_error   (PluaRuntime *self,
                                          lua_State   *co,
                                          const char  *context);
gboolean     plua_runtime_had_error      (PluaRuntime *self);

/* Gives the chunk on top of L (just loaded) the environment that code typed
 * at a REPL or sent to /plua/execute or D-Bus runs in: _PY.code_env(target)
 * (under --fibaro a QuickApp's; target NULL the default one, else an id).
 * On a bad target, replaces the chunk with the message and returns
 * LUA_ERRRUN; LUA_OK otherwise (also when there is no such hook). */
int          plua_runtime_set_chunk_env  (PluaRuntime *self,
                                          lua_State   *L,
                                          const char  *target);

/* An error inside a QuickApp (syntax, onInit, a callback), already logged by
 * the emulator as the box logs it: the run goes on (ends with --fail-fast),
 * its exit status becomes 1 and the end of the run says how many there were. */
void         plua_runtime_count_app_error (PluaRuntime *self);
guint        plua_runtime_get_app_errors  (PluaRuntime *self);

/* The single output path: emits ::output with one line (no trailing newline). */
void         plua_runtime_output         (PluaRuntime *self,
                                          const char  *line,
                                          gsize        len);

void         plua_runtime_hold           (PluaRuntime *self, PluaPendingKind kind);
void         plua_runtime_release        (PluaRuntime *self, PluaPendingKind kind);
guint        plua_runtime_get_pending    (PluaRuntime *self, PluaPendingKind kind);
guint        plua_runtime_get_total_pending (PluaRuntime *self);

/* Event sources call this after each batch of Lua callbacks they ran (a
 * timer batch, a REPL line, a network completion) and after releasing pending
 * work: emits ::dispatched so the application can check whether the run is
 * over (idle, _PY.isRunning). The application also checks once a second. */
void         plua_runtime_dispatched     (PluaRuntime *self);

/* Asks the run to end with this status (os.exit-like, but clean). */
void         plua_runtime_request_exit   (PluaRuntime *self, int status);

/* Debug diagnostics on stderr when --debug is on. */
void         plua_runtime_debug          (PluaRuntime *self,
                                          const char  *format,
                                          ...) G_GNUC_PRINTF (2, 3);

G_END_DECLS

/* plua-api-calls.h: the execute engine of POST /plua/execute, for callers
 * that are not HTTP requests (the D-Bus Execute method).
 *
 * The same rules as the REST route: the code is returned as an expression
 * when it parses as one, else run as a statement (never both); it runs in a
 * coroutine of the runtime under a time limit (an instruction-count hook, and
 * a timer while it sleeps); its results come back as JSON text (null, the
 * value, or an array of them) and what the runtime printed meanwhile as its
 * output. Several PluaApiCalls may live on one runtime (the REST server's
 * and the D-Bus service's).
 */
#pragma once

#include <glib.h>

#include "plua-runtime.h"
#include "plua-soup-module.h"   /* PluaApiCalls, PluaApiExecuteFunc */

G_BEGIN_DECLS

/* Runs code as POST /plua/execute would; chunk_name as for lua_load
 * ("=dbus": errors read "dbus:1: ..."). func tells how it ended, exactly
 * once: result_json is NULL on failure, error NULL on success, output what
 * was printed while it ran ("" when nothing). It may be called before this
 * returns (a syntax error, code that never sleeps), and is called with error
 * set when the PluaApiCalls is freed while the call is still waiting. */
void          plua_api_calls_execute_func   (PluaApiCalls       *calls,
                                             const char         *code,
                                             gsize               code_len,
                                             const char         *chunk_name,
                                             double              timeout,
                                             PluaApiExecuteFunc  func,
                                             gpointer            user_data);

G_END_DECLS

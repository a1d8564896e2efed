/* plua-api-private.h: what the REST server's parts share.
 *
 * PluaApiCalls runs Lua on behalf of HTTP requests (POST /plua/execute and
 * the /api/... hook): in a coroutine of the runtime, under a time limit kept
 * by an instruction-count hook, answering the request when the code finishes,
 * even if it slept in between (the message is paused meanwhile).
 */
#pragma once

#include <libsoup/soup.h>

#include "plua-runtime.h"

G_BEGIN_DECLS

typedef struct _PluaApiCalls PluaApiCalls;

/* Default and upper limit of the "timeout" of /plua/execute, in seconds. */
#define PLUA_API_DEFAULT_TIMEOUT 30.0
#define PLUA_API_MAX_TIMEOUT     86400.0

PluaApiCalls *plua_api_calls_new            (PluaRuntime  *runtime);
/* Forgets the calls still waiting (their coroutines are closed, their
 * requests left unanswered) and removes the hooks. */
void          plua_api_calls_free           (PluaApiCalls *calls);
/* Number of requests whose Lua code has not finished yet. */
guint         plua_api_calls_get_n_pending  (PluaApiCalls *calls);
/* A line the runtime printed: becomes part of the "output" of every
 * execute call in progress. */
void          plua_api_calls_capture        (PluaApiCalls *calls,
                                             const char   *line,
                                             gsize         len);

/* POST /plua/execute with its body already checked: answers msg. */
void          plua_api_calls_execute        (PluaApiCalls      *calls,
                                             SoupServerMessage *msg,
                                             const char        *code,
                                             gsize              code_len,
                                             double             timeout);
/* Any /api/... request: _PY.fibaro_api_hook(method, path, body) answers msg. */
void          plua_api_calls_fibaro_hook    (PluaApiCalls      *calls,
                                             SoupServerMessage *msg,
                                             const char        *method,
                                             const char        *path,
                                             const char        *body,
                                             gsize              body_len);

/* JSON helpers shared by the server's parts. */
void          plua_api_append_json_string   (GString    *out,
                                             const char *text,
                                             gssize      len);
void          plua_api_reply                (SoupServerMessage *msg,
                                             guint              status,
                                             GString           *json);
void          plua_api_reply_error          (SoupServerMessage *msg,
                                             guint              status,
                                             const char        *message);

G_END_DECLS

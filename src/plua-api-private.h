/* plua-api-private.h: what the REST server's parts share.
 *
 * plua-api-server.c: the PluaApiServer (listening, request checks, the plua routes,
 *   /ws); plua-api-calls.c: Lua run for requests (below); plua-api-hc3.c:
 *   the /api/... routes (route table, Basic auth, the hook's arguments);
 *   plua-api-static.c: files from GResource and the merged /openapi.json;
 *   plua-api-port.c: who holds a port.
 *
 * PluaApiCalls runs Lua on behalf of HTTP requests (POST /plua/execute and
 * the /api/... hook): in a coroutine of the runtime, under a time limit kept
 * by an instruction-count hook, answering the request when the code finishes,
 * even if it slept in between (the message is paused meanwhile).
 */
#pragma once

#include <libsoup/soup.h>

#include "plua-runtime.h"
#include "plua-soup-module.h"

G_BEGIN_DECLS

/* PluaApiCalls and the time limits come from plua-soup-module.h. */

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

/* POST /plua/execute with its body already checked: answers msg. target:
 * the "qa" field (the QuickApp whose environment the code runs in under
 * --fibaro), or NULL for the default. */
void          plua_api_calls_execute        (PluaApiCalls      *calls,
                                             SoupServerMessage *msg,
                                             const char        *code,
                                             gsize              code_len,
                                             const char        *target,
                                             double             timeout);
/* The hook function and its nargs arguments are on top of the runtime's
 * state: runs it (popping them) and answers msg with what it returns:
 * data, status[, headers]. */
void          plua_api_calls_fibaro_hook    (PluaApiCalls      *calls,
                                             SoupServerMessage *msg,
                                             int                nargs);

/* The /api/... routes. The route table and the HC3 credentials are loaded on
 * the first request, not at start-up. */
typedef struct _PluaApiHc3 PluaApiHc3;

PluaApiHc3   *plua_api_hc3_new              (PluaRuntime  *runtime,
                                             PluaApiCalls *calls);
void          plua_api_hc3_free             (PluaApiHc3   *hc3);
/* Answers (or starts answering) a request whose path starts with /api. */
void          plua_api_hc3_handle           (PluaApiHc3        *hc3,
                                             SoupServerMessage *msg,
                                             const char        *path,
                                             GHashTable        *query);

/* Files from the GResource bundle; name is relative to the prefix
 * ("web/index.html"). */
void          plua_api_reply_resource       (SoupServerMessage *msg,
                                             const char        *name);
/* A name under /static/ that may be served: no slashes, no dot first. */
gboolean      plua_api_static_name_ok       (const char        *name);
/* plua.json and every HC3 description merged into one OpenAPI document:
 * HC3 paths under /api, the union of their schemas and tags. */
GBytes       *plua_api_build_openapi        (GError           **error);

/* Shared checks. */
/* Deepest JSON nesting accepted in a request body. Bodies are read by
 * plua_json_scan (the json.decode reader), never by json-glib's parser. */
#define PLUA_API_MAX_BODY_DEPTH 64
/* Compares a secret in constant time (for its length). */
gboolean      plua_api_secret_equal         (const char *given,
                                             gsize       given_len,
                                             const char *secret);

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

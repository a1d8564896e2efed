/* plua-api-calls.c: Lua code run for REST requests, under a time limit.
 *
 * A call runs in a coroutine of the runtime, like a timer callback, so it
 * shares the script's globals and may sleep; the HTTP message is paused until
 * it finishes. The time limit is an instruction-count hook (plua-hooks.c)
 * on that coroutine and the coroutines it creates: when the deadline has
 * passed the hook raises an error at every instruction, so a runaway loop
 * cannot swallow it with pcall. A call still suspended (sleeping) at its
 * deadline is closed instead. Either way the request gets 408 and the server
 * goes on serving.
 */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>
#include <lauxlib.h>

#include "plua-api-calls.h"
#include "plua-api-private.h"
#include "plua-hooks.h"
#include "plua-json.h"

/* Instructions between two looks at the clock: ~10 µs of Lua. */
#define HOOK_INTERVAL 1000
/* Output kept for one execute response; beyond it the rest is dropped. */
#define MAX_OUTPUT (1024 * 1024)
/* Time limit of the /api/... hook. */
#define HOOK_TIMEOUT 30.0
/* Chunk name of posted code: errors read "web:1: ...". */
#define CHUNK_NAME "=web"

typedef enum
{
  CALL_EXECUTE,
  CALL_FIBARO_HOOK,
} CallKind;

typedef struct
{
  PluaApiCalls      *calls;
  GList              link;        /* in calls->in_flight */
  CallKind           kind;
  SoupServerMessage *msg;
  gulong             finished_id;
  gboolean           msg_gone;    /* the client went away */
  gboolean           paused;
  gboolean           starting;    /* inside plua_runtime_spawn */
  gboolean           answered;
  lua_State         *co;          /* while the code runs or sleeps */
  PluaHook          *hook;        /* the time limit on co */
  gint64             start;       /* monotonic µs */
  gint64             deadline;
  double             timeout;
  gboolean           timed_out;
  guint              timer_id;
  GString           *output;
  gboolean           output_full;
  PluaApiExecuteFunc func;        /* without msg: who gets the answer */
  gpointer           func_data;
} PluaApiCall;

struct _PluaApiCalls
{
  PluaRuntime *runtime;
  GQueue       in_flight;
  guint        n_capturing;
};

static void call_answer_timeout (PluaApiCall *call);

PluaApiCalls *
plua_api_calls_new (PluaRuntime *runtime)
{
  PluaApiCalls *calls = g_new0 (PluaApiCalls, 1);

  calls->runtime = g_object_ref (runtime);
  g_queue_init (&calls->in_flight);
  return calls;
}

static void
call_forget_thread (PluaApiCall *call)
{
  if (call->co == NULL)
    return;
  plua_hooks_remove (plua_runtime_get_state (call->calls->runtime), call->hook);
  call->hook = NULL;
  call->co = NULL;
}

/* A coroutine suspended past its deadline (or at shutdown) is closed, so
 * whatever would have resumed it finds it dead. */
static void
call_close_thread (PluaApiCall *call)
{
  lua_State *co = call->co;

  if (co == NULL)
    return;
  call_forget_thread (call);
  if (lua_status (co) == LUA_YIELD)
    {
#if LUA_VERSION_RELEASE_NUM >= 50406
      lua_closethread (co, plua_runtime_get_state (call->calls->runtime));
#else
      lua_resetthread (co);
#endif
    }
}

static void
call_free (PluaApiCall *call)
{
  PluaApiCalls *calls = call->calls;

  g_queue_unlink (&calls->in_flight, &call->link);
  if (call->output != NULL)
    {
      calls->n_capturing--;
      g_string_free (call->output, TRUE);
    }
  g_clear_handle_id (&call->timer_id, g_source_remove);
  if (call->msg != NULL)
    {
      g_clear_signal_handler (&call->finished_id, call->msg);
      if (call->paused && !call->msg_gone)
        soup_server_message_unpause (call->msg);
      g_clear_object (&call->msg);
    }
  g_free (call);
}

void
plua_api_calls_free (PluaApiCalls *calls)
{
  if (calls == NULL)
    return;
  while (calls->in_flight.head != NULL)
    {
      PluaApiCall *call = calls->in_flight.head->data;

      call_close_thread (call);
      call->paused = FALSE;   /* the server goes away with its connections */
      if (call->func != NULL)
        call->func (FALSE, NULL, call->output->str, _("the service is shutting down"), FALSE, call->func_data);
      call_free (call);
    }
  g_object_unref (calls->runtime);
  g_free (calls);
}

guint
plua_api_calls_get_n_pending (PluaApiCalls *calls)
{
  return calls->in_flight.length;
}

void
plua_api_calls_capture (PluaApiCalls *calls,
                        const char   *line,
                        gsize         len)
{
  if (calls->n_capturing == 0)
    return;
  for (GList *l = calls->in_flight.head; l != NULL; l = l->next)
    {
      PluaApiCall *call = l->data;

      if (call->output == NULL || call->output_full)
        continue;
      if (call->output->len + len + 1 > MAX_OUTPUT)
        {
          g_string_append (call->output, "\n[output truncated]");
          call->output_full = TRUE;
          continue;
        }
      if (call->output->len > 0)
        g_string_append_c (call->output, '\n');
      g_string_append_len (call->output, line, len);
    }
}

/* JSON text helpers ----------------------------------------------------- */

void
plua_api_append_json_string (GString    *out,
                             const char *text,
                             gssize      len)
{
  g_autofree char *valid = NULL;
  const char *end;

  if (len < 0)
    len = strlen (text);
  /* JSON is UTF-8: stray bytes become U+FFFD rather than invalid output. */
  if (!g_utf8_validate_len (text, len, NULL))
    {
      valid = g_utf8_make_valid (text, len);
      text = valid;
      len = strlen (valid);
    }
  end = text + len;
  g_string_append_c (out, '"');
  for (const char *p = text; p < end; p++)
    {
      unsigned char c = *p;

      switch (c)
        {
        case '"': g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:
          if (c < 0x20)
            g_string_append_printf (out, "\\u%04x", c);
          else
            g_string_append_c (out, c);
        }
    }
  g_string_append_c (out, '"');
}

void
plua_api_reply (SoupServerMessage *msg,
                guint              status,
                GString           *json)
{
  gsize len = json->len;

  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE,
                                    g_string_free (json, FALSE), len);
}

void
plua_api_reply_error (SoupServerMessage *msg,
                      guint              status,
                      const char        *message)
{
  GString *json = g_string_new ("{\"error\":");

  plua_api_append_json_string (json, message, -1);
  g_string_append_c (json, '}');
  plua_api_reply (msg, status, json);
}

/* Lua side ----------------------------------------------------------------- */

/* Every HOOK_INTERVAL instructions of the call's coroutine (and of the
 * coroutines it created); after the deadline, at every instruction. */
static void
time_limit_hook (lua_State *L,
                 lua_Debug *ar,
                 gpointer   user_data)
{
  PluaApiCall *call = user_data;

  if (g_get_monotonic_time () < call->deadline)
    return;
  call->timed_out = TRUE;
  plua_hooks_update (call->hook, LUA_MASKCOUNT, 1);
  luaL_error (L, "execution timed out");
}

static int
call_continue (lua_State     *L,
               int            status,
               lua_KContext   ctx)
{
  return lua_gettop (L);
}

/* The coroutine's body: (call, function, args...) -> function(args...), with
 * the hook set on this coroutine. */
static int
call_trampoline (lua_State *L)
{
  PluaApiCall *call = lua_touserdata (L, 1);
  int nargs = lua_gettop (L) - 2;

  lua_remove (L, 1);
  call->co = L;
  call->hook = plua_hooks_add (L, L, LUA_MASKCOUNT, HOOK_INTERVAL, time_limit_hook, call);
  lua_callk (L, nargs, LUA_MULTRET, 0, call_continue);
  return lua_gettop (L);
}

/* Pushes the JSON text of the value at idx; what JSON cannot hold (a
 * function, a cycle...) becomes a string, as tostring gives it. */
static void
push_json (lua_State *L,
           int        idx)
{
  GError *error = NULL;
  char *text = plua_json_encode (L, idx, FALSE, &error);
  GString *quoted;
  const char *str;
  size_t len;

  if (text != NULL)
    {
      lua_pushstring (L, text);
      g_free (text);
      return;
    }
  g_error_free (error);
  str = luaL_tolstring (L, idx, &len);   /* may raise: nothing to free here */
  quoted = g_string_sized_new (len + 2);
  plua_api_append_json_string (quoted, str, len);
  lua_pop (L, 1);
  lua_pushlstring (L, quoted->str, quoted->len);
  g_string_free (quoted, TRUE);
}

/* (values...) -> their JSON: null for none, the value for one, an array for
 * several. Called protected. */
static int
encode_values (lua_State *L)
{
  int n = lua_gettop (L);

  if (n == 0)
    {
      lua_pushliteral (L, "null");
      return 1;
    }
  if (n == 1)
    {
      push_json (L, 1);
      return 1;
    }
  luaL_checkstack (L, 2 * n + 1, "too many results");
  lua_pushliteral (L, "[");
  for (int i = 1; i <= n; i++)
    {
      if (i > 1)
        lua_pushliteral (L, ",");
      push_json (L, i);
    }
  lua_pushliteral (L, "]");
  lua_concat (L, 2 * n + 1);
  return 1;
}

static int
error_to_string (lua_State *L)
{
  luaL_tolstring (L, 1, NULL);
  return 1;
}

/* Pops the error object on top of L and returns its message. */
static char *
take_error_message (lua_State *L)
{
  char *message;

  if (lua_type (L, -1) == LUA_TSTRING || lua_type (L, -1) == LUA_TNUMBER)
    {
      message = g_strdup (lua_tostring (L, -1));
      lua_pop (L, 1);
      return message;
    }
  lua_pushcfunction (L, error_to_string);
  lua_insert (L, -2);
  if (lua_pcall (L, 1, 1, 0) == LUA_OK && lua_type (L, -1) == LUA_TSTRING)
    message = g_strdup (lua_tostring (L, -1));
  else
    message = g_strdup (_("(error object cannot be shown)"));
  lua_pop (L, 1);
  return message;
}

/* Moves n values from the top of co to L and encodes them; NULL with
 * *error_message set when that failed. */
static char *
encode_results (lua_State  *L,
                lua_State  *co,
                int         n,
                char      **error_message)
{
  char *json = NULL;

  if (!lua_checkstack (L, n + 2))
    {
      lua_pop (co, n);
      *error_message = g_strdup (_("too many results"));
      return NULL;
    }
  lua_pushcfunction (L, encode_values);
  lua_xmove (co, L, n);
  if (lua_pcall (L, n, 1, 0) == LUA_OK)
    {
      json = g_strdup (lua_tostring (L, -1));
      lua_pop (L, 1);
    }
  else
    {
      *error_message = take_error_message (L);
    }
  return json;
}

/* Calls --------------------------------------------------------------------- */

static void
on_msg_finished (SoupServerMessage *msg,
                 PluaApiCall       *call)
{
  call->msg_gone = TRUE;
}

static PluaApiCall *
call_new (PluaApiCalls      *calls,
          CallKind           kind,
          SoupServerMessage *msg,
          double             timeout)
{
  PluaApiCall *call = g_new0 (PluaApiCall, 1);

  call->calls = calls;
  call->kind = kind;
  if (msg != NULL)
    call->msg = g_object_ref (msg);
  call->timeout = timeout;
  call->start = g_get_monotonic_time ();
  call->deadline = call->start + (gint64) (timeout * G_USEC_PER_SEC);
  call->link.data = call;
  g_queue_push_tail_link (&calls->in_flight, &call->link);
  if (kind == CALL_EXECUTE)
    {
      call->output = g_string_new (NULL);
      calls->n_capturing++;
    }
  return call;
}

/* The request has its answer: send it if it waited, forget the call unless
 * plua_runtime_spawn is still on the stack (call_start frees it then). */
static void
call_finish (PluaApiCall *call)
{
  call->answered = TRUE;
  if (!call->starting)
    call_free (call);
}

static GString *
execute_body (PluaApiCall *call,
              gboolean     success,
              const char  *result_json,
              const char  *error)
{
  g_autofree char *request_id = g_uuid_string_random ();
  char ms[G_ASCII_DTOSTR_BUF_SIZE];
  GString *json = g_string_new ("{\"success\":");

  g_string_append (json, success ? "true" : "false");
  g_string_append (json, ",\"result\":");
  g_string_append (json, result_json != NULL ? result_json : "null");
  g_string_append (json, ",\"output\":");
  plua_api_append_json_string (json, call->output->str, call->output->len);
  g_string_append (json, ",\"error\":");
  if (error != NULL)
    plua_api_append_json_string (json, error, -1);
  else
    g_string_append (json, "null");
  g_ascii_formatd (ms, sizeof ms, "%.3f", (g_get_monotonic_time () - call->start) / 1000.0);
  g_string_append_printf (json, ",\"execution_time_ms\":%s,\"request_id\":\"%s\"}", ms, request_id);
  return json;
}

static char *
timeout_message (double timeout)
{
  char seconds[G_ASCII_DTOSTR_BUF_SIZE];

  g_ascii_formatd (seconds, sizeof seconds, "%g", timeout);
  return g_strdup_printf (_("execution timed out after %s seconds"), seconds);
}

static void
answer_execute (PluaApiCall *call,
                lua_State   *co,
                int          status,
                int          nresults)
{
  lua_State *L = plua_runtime_get_state (call->calls->runtime);
  g_autofree char *result = NULL;
  g_autofree char *error = NULL;
  guint http_status = SOUP_STATUS_OK;

  if (status == LUA_OK)
    {
      result = encode_results (L, co, nresults, &error);
    }
  else
    {
      lua_xmove (co, L, 1);
      error = take_error_message (L);
    }
  /* A coroutine it created may have hit the limit and passed the error on. */
  if (status != LUA_OK && g_get_monotonic_time () >= call->deadline)
    call->timed_out = TRUE;
  if (call->timed_out)
    {
      g_clear_pointer (&result, g_free);
      g_free (error);
      error = timeout_message (call->timeout);
      http_status = SOUP_STATUS_REQUEST_TIMEOUT;
    }
  if (call->func != NULL)
    call->func (error == NULL, result, call->output->str, error, call->timed_out, call->func_data);
  else if (!call->msg_gone)
    plua_api_reply (call->msg, http_status, execute_body (call, error == NULL, result, error));
}

/* (value, out) -> *out = its JSON text, without copying it through a Lua
 * string. Called protected: only a memory error can raise. */
static int
encode_hook_data (lua_State *L)
{
  char **out = lua_touserdata (L, 2);
  GError *error = NULL;

  lua_settop (L, 1);
  *out = plua_json_encode (L, 1, FALSE, &error);
  if (*out == NULL)
    {
      g_error_free (error);
      push_json (L, 1);   /* what JSON cannot hold, as a string */
      *out = g_strdup (lua_tostring (L, -1));
    }
  return 0;
}

static gboolean
header_text_ok (const char *text,
                gboolean    name)
{
  if (name && text[0] == '\0')
    return FALSE;
  for (const char *p = text; *p != '\0'; p++)
    if (*p == '\r' || *p == '\n' || (name && (*p == ':' || *p == ' ')))
      return FALSE;
  return TRUE;
}

/* The hook's third result: {["X-Name"] = "value"}. Only strings and
 * numbers; framing headers stay libsoup's. Returns the Content-Type given,
 * if any. Values are copied before the stack moves. */
static char *
apply_hook_headers (lua_State         *co,
                    int                idx,
                    SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  char *content_type = NULL;

  if (lua_type (co, idx) != LUA_TTABLE)
    return NULL;
  lua_pushnil (co);
  while (lua_next (co, idx) != 0)
    {
      if (lua_type (co, -2) == LUA_TSTRING &&
          (lua_type (co, -1) == LUA_TSTRING || lua_type (co, -1) == LUA_TNUMBER))
        {
          const char *name = lua_tostring (co, -2);
          g_autofree char *value = g_strdup (lua_tostring (co, -1));   /* a number converted in place: the value, not the key */

          if (!header_text_ok (name, TRUE) || !header_text_ok (value, FALSE) ||
              g_ascii_strcasecmp (name, "Content-Length") == 0 ||
              g_ascii_strcasecmp (name, "Transfer-Encoding") == 0 ||
              g_ascii_strcasecmp (name, "Connection") == 0)
            ;
          else if (g_ascii_strcasecmp (name, "Content-Type") == 0)
            {
              g_free (content_type);
              content_type = g_steal_pointer (&value);
            }
          else
            soup_message_headers_replace (headers, name, value);
        }
      lua_pop (co, 1);
    }
  return content_type;
}

/* _PY.fibaro_api_hook returned data, status[, headers]: the status (200
 * when data is given and no status), the JSON of data as the body. nil data
 * with an error status gets {"error": "..."}; nil data with 204 or 304 no
 * body. A string with a Content-Type header from the hook goes out as it is
 * (text, or JSON the hook encoded and cached itself). */
static void
answer_fibaro_hook (PluaApiCall *call,
                    lua_State   *co,
                    int          status,
                    int          nresults)
{
  PluaRuntime *runtime = call->calls->runtime;
  lua_State *L = plua_runtime_get_state (runtime);
  g_autofree char *error = NULL;
  g_autofree char *content_type = NULL;
  lua_Integer http_status = SOUP_STATUS_OK;
  char *data = NULL;
  gsize data_len = 0;
  gboolean data_is_nil = TRUE;
  int base = lua_gettop (co) - nresults + 1;

  if (status != LUA_OK)
    {
      lua_xmove (co, L, 1);
      error = take_error_message (L);
      /* Reported, not counted as the script's error: the client got its 500. */
      if (!call->timed_out)
        {
          luaL_traceback (L, co, error, 0);
          g_printerr (_("plua: _PY.fibaro_api_hook failed: %s\n"), lua_tostring (L, -1));
          lua_pop (L, 1);
        }
    }
  else
    {
      int isnum = 1;

      if (nresults >= 2 && !lua_isnil (co, base + 1))
        http_status = lua_tointegerx (co, base + 1, &isnum);
      if (!isnum || http_status < 100 || http_status > 599)
        error = g_strdup (_("_PY.fibaro_api_hook returned an invalid HTTP status"));
      data_is_nil = nresults == 0 || lua_isnil (co, base);
      if (error == NULL && !call->msg_gone)
        {
          if (nresults >= 3)
            content_type = apply_hook_headers (co, base + 2, call->msg);
          if (data_is_nil)
            ;
          else if (content_type != NULL && lua_type (co, base) == LUA_TSTRING)
            {
              const char *text = lua_tolstring (co, base, &data_len);
              data = g_memdup2 (text, data_len);
            }
          else
            {
              lua_pushcfunction (L, encode_hook_data);
              lua_pushvalue (co, base);
              lua_xmove (co, L, 1);
              lua_pushlightuserdata (L, &data);
              if (lua_pcall (L, 2, 0, 0) != LUA_OK)
                {
                  g_clear_pointer (&data, g_free);
                  error = take_error_message (L);
                }
              else
                data_len = strlen (data);
            }
        }
      lua_settop (co, base - 1);
    }
  if (call->timed_out)
    {
      g_free (error);
      error = timeout_message (call->timeout);
    }
  if (call->msg_gone)
    {
      g_free (data);
      return;
    }

  if (error != NULL)
    {
      GString *json = g_string_new ("{\"error\":\"Internal server error\",\"message\":");

      g_free (data);
      plua_api_append_json_string (json, error, -1);
      g_string_append_c (json, '}');
      plua_api_reply (call->msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, json);
    }
  else if (data_is_nil && (http_status == SOUP_STATUS_NO_CONTENT || http_status == SOUP_STATUS_NOT_MODIFIED))
    {
      soup_server_message_set_status (call->msg, http_status, NULL);
    }
  else if (data_is_nil && http_status >= 400)
    {
      plua_api_reply_error (call->msg, http_status,
                            http_status == SOUP_STATUS_SERVICE_UNAVAILABLE
                              ? _("no Fibaro HC3 emulator is running (start plua with --fibaro)")
                              : soup_status_get_phrase (http_status));
    }
  else
    {
      if (data == NULL)
        {
          data = g_strdup ("null");
          data_len = 4;
        }
      soup_server_message_set_status (call->msg, http_status, NULL);
      soup_server_message_set_response (call->msg, content_type != NULL ? content_type : "application/json",
                                        SOUP_MEMORY_TAKE, data, data_len);
    }
}

static void
call_done (PluaRuntime *runtime,
           lua_State   *co,
           int          status,
           int          nresults,
           gpointer     user_data)
{
  PluaApiCall *call = user_data;

  call_forget_thread (call);
  if (call->kind == CALL_EXECUTE)
    answer_execute (call, co, status, nresults);
  else
    answer_fibaro_hook (call, co, status, nresults);
  call_finish (call);
}

static gboolean
on_deadline (gpointer user_data)
{
  PluaApiCall *call = user_data;
  PluaRuntime *runtime = call->calls->runtime;

  call->timer_id = 0;
  call_answer_timeout (call);   /* frees call */
  plua_runtime_dispatched (runtime);
  return G_SOURCE_REMOVE;
}

/* The deadline passed while the code was suspended (sleeping, waiting for
 * the network), or it was finished by someone else's coroutine.resume. */
static void
call_answer_timeout (PluaApiCall *call)
{
  g_autofree char *error = timeout_message (call->timeout);

  call_close_thread (call);
  call->timed_out = TRUE;
  if (call->func != NULL)
    call->func (FALSE, NULL, call->output->str, error, TRUE, call->func_data);
  else if (!call->msg_gone)
    {
      if (call->kind == CALL_EXECUTE)
        plua_api_reply (call->msg, SOUP_STATUS_REQUEST_TIMEOUT, execute_body (call, FALSE, NULL, error));
      else
        plua_api_reply_error (call->msg, SOUP_STATUS_GATEWAY_TIMEOUT, error);
    }
  call_finish (call);
}

/* Runs the function below its nargs arguments on top of the main state. */
static void
call_start (PluaApiCall *call,
            int          nargs)
{
  PluaRuntime *runtime = call->calls->runtime;
  lua_State *L = plua_runtime_get_state (runtime);
  guint delay_ms;

  lua_pushcfunction (L, call_trampoline);
  lua_insert (L, -(nargs + 2));
  lua_pushlightuserdata (L, call);
  lua_insert (L, -(nargs + 2));

  call->starting = TRUE;
  plua_runtime_spawn (runtime, L, nargs + 2, PLUA_SPAWN_QUIET, call_done, call);
  call->starting = FALSE;

  if (call->answered)
    {
      call_free (call);
    }
  else
    {
      /* Suspended: answer when it finishes, or at the deadline. Only now
       * can the client go away first (no signal to connect per request). */
      if (call->msg != NULL)
        {
          call->finished_id = g_signal_connect (call->msg, "finished", G_CALLBACK (on_msg_finished), call);
          soup_server_message_pause (call->msg);
          call->paused = TRUE;
        }
      delay_ms = (guint) MIN (MAX (call->deadline - g_get_monotonic_time (), 0) / 1000 + 1, G_MAXUINT);
      call->timer_id = g_timeout_add (delay_ms, on_deadline, call);
    }
  plua_runtime_dispatched (runtime);
}

/* Pushes the code as a function: "return CODE" when that parses, else CODE
 * itself, so it runs exactly once. On a syntax error, pushes the message. */
static int
load_code (lua_State  *L,
           const char *code,
           gsize       code_len,
           const char *chunk_name,
           const char *target)
{
  GString *expression = g_string_sized_new (code_len + 8);
  int status;

  g_string_append (expression, "return ");
  g_string_append_len (expression, code, code_len);
  status = luaL_loadbuffer (L, expression->str, expression->len, chunk_name);
  g_string_free (expression, TRUE);
  if (status != LUA_OK)
    {
      lua_pop (L, 1);
      status = luaL_loadbuffer (L, code, code_len, chunk_name);
    }
  if (status == LUA_OK)
    status = plua_runtime_set_chunk_env (plua_runtime_from_lua (L), L, target);
  return status;
}

void
plua_api_calls_execute_func (PluaApiCalls       *calls,
                             const char         *code,
                             gsize               code_len,
                             const char         *chunk_name,
                             double              timeout,
                             PluaApiExecuteFunc  func,
                             gpointer            user_data)
{
  lua_State *L = plua_runtime_get_state (calls->runtime);
  PluaApiCall *call;

  g_return_if_fail (calls != NULL && func != NULL);

  call = call_new (calls, CALL_EXECUTE, NULL, timeout);
  call->func = func;
  call->func_data = user_data;
  if (load_code (L, code, code_len, chunk_name, NULL) != LUA_OK)
    {
      g_autofree char *error = take_error_message (L);

      func (FALSE, NULL, "", error, FALSE, user_data);
      call_free (call);
      return;
    }
  call_start (call, 0);
}

void
plua_api_calls_execute (PluaApiCalls      *calls,
                        SoupServerMessage *msg,
                        const char        *code,
                        gsize              code_len,
                        const char        *target,
                        double             timeout)
{
  lua_State *L = plua_runtime_get_state (calls->runtime);
  PluaApiCall *call = call_new (calls, CALL_EXECUTE, msg, timeout);

  if (load_code (L, code, code_len, CHUNK_NAME, target) != LUA_OK)
    {
      g_autofree char *error = take_error_message (L);

      plua_api_reply (msg, SOUP_STATUS_BAD_REQUEST, execute_body (call, FALSE, NULL, error));
      call_free (call);
      return;
    }
  call_start (call, 0);
}

void
plua_api_calls_fibaro_hook (PluaApiCalls      *calls,
                            SoupServerMessage *msg,
                            int                nargs)
{
  PluaApiCall *call = call_new (calls, CALL_FIBARO_HOOK, msg, HOOK_TIMEOUT);

  call_start (call, nargs);
}

/* plua-dbus.c: the io.github.plua.Plua.Runtime1 D-Bus interface.
 *
 * Method handlers run on the main loop like every other event. Execute goes
 * through the REST API's execute engine (plua-api-calls.h) with its own
 * PluaApiCalls, so it follows the same rules and time limit as
 * POST /plua/execute. RunFile runs a file as the main script is run
 * (_PY._run_main) in a coroutine and answers when its main chunk ends.
 * D-Bus strings are UTF-8: stray bytes in output and results become U+FFFD.
 */
#include "config.h"

#include <unistd.h>

#include <glib/gi18n.h>
#include <lauxlib.h>

#include "plua-soup-module.h"
#include "plua-dbus.h"
#include "plua-dbus-generated.h"

struct _PluaDbusService
{
  PluaRuntime       *runtime;
  const PluaSoupModule *soup;   /* the execute engine lives in the libsoup module */
  PluaApiCalls      *calls;
  PluaDBusRuntime1  *skeleton;
  double             timeout;
  gulong             output_id;
  gint64             started;
  gint64             last_activity;
  guint              api_port;
  guint              n_pending;
  GQueue             run_files;   /* RunFile calls whose chunk has not ended */
};

typedef struct
{
  PluaDbusService       *service;
  GDBusMethodInvocation *invocation;
  GList                  link;
} PendingCall;

static char *
make_valid (const char *text)
{
  return g_utf8_make_valid (text != NULL ? text : "", -1);
}

static PendingCall *
pending_new (PluaDbusService       *self,
             GDBusMethodInvocation *invocation)
{
  PendingCall *pending = g_new0 (PendingCall, 1);

  pending->service = self;
  pending->invocation = g_object_ref (invocation);
  pending->link.data = pending;
  self->n_pending++;
  self->last_activity = g_get_monotonic_time ();
  return pending;
}

static void
pending_free (PendingCall *pending)
{
  PluaDbusService *self = pending->service;

  self->n_pending--;
  self->last_activity = g_get_monotonic_time ();
  g_object_unref (pending->invocation);
  g_free (pending);
}

/* Execute ------------------------------------------------------------------ */

static void
on_execute_done (gboolean    success,
                 const char *result_json,
                 const char *output,
                 const char *error,
                 gboolean    timed_out,
                 gpointer    user_data)
{
  PendingCall *pending = user_data;
  g_autofree char *result = make_valid (result_json != NULL ? result_json : "null");
  g_autofree char *text = make_valid (output);
  g_autofree char *message = make_valid (error);

  plua_dbus_runtime1_complete_execute (pending->service->skeleton, pending->invocation,
                                       success, result, text, message);
  pending_free (pending);
}

static gboolean
handle_execute (PluaDBusRuntime1      *skeleton,
                GDBusMethodInvocation *invocation,
                const char            *code,
                PluaDbusService       *self)
{
  PendingCall *pending = pending_new (self, invocation);

  self->soup->api_calls_execute_func (self->calls, code, strlen (code), "=dbus", self->timeout,
                               on_execute_done, pending);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* RunFile ------------------------------------------------------------------ */

static void
run_file_answer (PendingCall *pending,
                 gboolean     success,
                 const char  *error)
{
  PluaDbusService *self = pending->service;
  g_autofree char *message = make_valid (error);

  g_queue_unlink (&self->run_files, &pending->link);
  plua_dbus_runtime1_complete_run_file (self->skeleton, pending->invocation, success, message);
  pending_free (pending);
}

static void
on_run_file_done (PluaRuntime *runtime,
                  lua_State   *co,
                  int          status,
                  int          nresults,
                  gpointer     user_data)
{
  PendingCall *pending = user_data;

  if (status == LUA_OK)
    {
      run_file_answer (pending, TRUE, "");
    }
  else
    {
      const char *message = lua_tostring (co, -1);

      run_file_answer (pending, FALSE, message != NULL ? message : _("(error object is not a string)"));
    }
}

static gboolean
handle_run_file (PluaDBusRuntime1      *skeleton,
                 GDBusMethodInvocation *invocation,
                 const char            *path,
                 PluaDbusService       *self)
{
  lua_State *L = plua_runtime_get_state (self->runtime);
  PendingCall *pending;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_autofree char *message = g_strdup_printf (_("cannot open %s: %s"), path,
                                                  g_file_test (path, G_FILE_TEST_EXISTS)
                                                    ? _("not a regular file") : g_strerror (ENOENT));

      plua_dbus_runtime1_complete_run_file (skeleton, invocation, FALSE, message);
      self->last_activity = g_get_monotonic_time ();
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }

  pending = pending_new (self, invocation);
  g_queue_push_tail_link (&self->run_files, &pending->link);
  /* _PY._run_main({}, path): what `plua path` does with its script. */
  lua_getglobal (L, "_PY");
  lua_getfield (L, -1, "_run_main");
  lua_remove (L, -2);
  lua_newtable (L);
  lua_pushstring (L, path);
  plua_runtime_spawn (self->runtime, L, 2, PLUA_SPAWN_QUIET, on_run_file_done, pending);
  plua_runtime_dispatched (self->runtime);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* GetStatus ------------------------------------------------------------------ */

static gboolean
handle_get_status (PluaDBusRuntime1      *skeleton,
                   GDBusMethodInvocation *invocation,
                   PluaDbusService       *self)
{
  PluaRuntime *runtime = self->runtime;
  lua_State *L = plua_runtime_get_state (runtime);
  guint64 memory = (guint64) lua_gc (L, LUA_GCCOUNT, 0) * 1024 + lua_gc (L, LUA_GCCOUNTB, 0);
  GVariantBuilder builder;

  self->last_activity = g_get_monotonic_time ();
  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&builder, "{sv}", "version", g_variant_new_string (PACKAGE_VERSION));
  g_variant_builder_add (&builder, "{sv}", "uptime",
                         g_variant_new_double ((g_get_monotonic_time () - self->started) / 1e6));
  g_variant_builder_add (&builder, "{sv}", "timers",
                         g_variant_new_uint32 (plua_runtime_get_pending (runtime, PLUA_PENDING_TIMER)));
  g_variant_builder_add (&builder, "{sv}", "sockets",
                         g_variant_new_uint32 (plua_runtime_get_pending (runtime, PLUA_PENDING_SOCKET)));
  g_variant_builder_add (&builder, "{sv}", "servers",
                         g_variant_new_uint32 (plua_runtime_get_pending (runtime, PLUA_PENDING_SERVER)));
  g_variant_builder_add (&builder, "{sv}", "requests",
                         g_variant_new_uint32 (plua_runtime_get_pending (runtime, PLUA_PENDING_REQUEST)));
  g_variant_builder_add (&builder, "{sv}", "calls", g_variant_new_uint32 (self->n_pending));
  g_variant_builder_add (&builder, "{sv}", "lua_memory", g_variant_new_uint64 (memory));
  g_variant_builder_add (&builder, "{sv}", "api_port", g_variant_new_uint32 (self->api_port));
  g_variant_builder_add (&builder, "{sv}", "pid", g_variant_new_uint32 ((guint32) getpid ()));
  plua_dbus_runtime1_complete_get_status (skeleton, invocation, g_variant_builder_end (&builder));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Output ------------------------------------------------------------------------ */

static void
on_output (PluaRuntime     *runtime,
           const char      *text,
           guint64          len,
           PluaDbusService *self)
{
  g_autofree char *line = g_utf8_make_valid (text, len);

  self->soup->api_calls_capture (self->calls, text, len);
  if (g_dbus_interface_skeleton_get_connection (G_DBUS_INTERFACE_SKELETON (self->skeleton)) != NULL)
    plua_dbus_runtime1_emit_output (self->skeleton, line);
}

/* Public ------------------------------------------------------------------------- */

PluaDbusService *
plua_dbus_service_new (PluaRuntime  *runtime,
                       double        timeout,
                       GError      **error)
{
  const PluaSoupModule *soup;
  PluaDbusService *self;

  g_return_val_if_fail (PLUA_IS_RUNTIME (runtime), NULL);

  soup = plua_soup_module_get (error);
  if (soup == NULL)
    return NULL;
  self = g_new0 (PluaDbusService, 1);
  self->soup = soup;
  self->runtime = g_object_ref (runtime);
  self->timeout = timeout;
  self->calls = self->soup->api_calls_new (runtime);
  self->started = self->last_activity = g_get_monotonic_time ();
  g_queue_init (&self->run_files);
  self->skeleton = plua_dbus_runtime1_skeleton_new ();
  g_signal_connect (self->skeleton, "handle-execute", G_CALLBACK (handle_execute), self);
  g_signal_connect (self->skeleton, "handle-run-file", G_CALLBACK (handle_run_file), self);
  g_signal_connect (self->skeleton, "handle-get-status", G_CALLBACK (handle_get_status), self);
  self->output_id = g_signal_connect (runtime, "output", G_CALLBACK (on_output), self);
  return self;
}

void
plua_dbus_service_free (PluaDbusService *self)
{
  if (self == NULL)
    return;
  g_clear_signal_handler (&self->output_id, self->runtime);
  /* Answers the Execute calls still waiting. */
  g_clear_pointer (&self->calls, self->soup->api_calls_free);
  while (self->run_files.head != NULL)
    run_file_answer (self->run_files.head->data, FALSE, _("the service is shutting down"));
  plua_dbus_service_unexport (self);
  g_signal_handlers_disconnect_by_data (self->skeleton, self);
  g_clear_object (&self->skeleton);
  g_clear_object (&self->runtime);
  g_free (self);
}

gboolean
plua_dbus_service_export (PluaDbusService  *self,
                          GDBusConnection  *connection,
                          const char       *object_path,
                          GError          **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), FALSE);

  return g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->skeleton),
                                           connection, object_path, error);
}

void
plua_dbus_service_unexport (PluaDbusService *self)
{
  g_return_if_fail (self != NULL);

  if (g_dbus_interface_skeleton_get_connection (G_DBUS_INTERFACE_SKELETON (self->skeleton)) != NULL)
    g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->skeleton));
}

guint
plua_dbus_service_get_n_pending (PluaDbusService *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n_pending;
}

gint64
plua_dbus_service_get_last_activity (PluaDbusService *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->last_activity;
}

void
plua_dbus_service_set_api_port (PluaDbusService *self,
                                guint            port)
{
  g_return_if_fail (self != NULL);

  self->api_port = port;
}

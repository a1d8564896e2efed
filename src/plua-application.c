/* plua-application.c: the plua program.
 *
 * Parses the command line, creates the runtime, runs the -e fragments and the
 * script, opens the REPL when asked, and decides when the run is over:
 * - a script run ends when nothing is pending (no timer, socket, server or
 *   request), like Node.js; --run-for changes that (see README);
 * - --duration, os.exit, SIGINT/SIGTERM and _PY.isRunning returning false
 *   end it too; the hook is asked after every batch of callbacks and at least
 *   once a second.
 * Exit status: 0 for a normal end, 1 when any uncaught Lua error happened
 * (in the script, a fragment or a callback), 2 for a command-line error.
 *
 * --service (--gapplication-service when D-Bus activation starts it) is the
 * one unique instance: it takes the application id, owns the name on the
 * session bus, exports the Runtime1 interface (plua-dbus.c) and runs until
 * stopped, or, when activated, until it has been idle for a while. --remote
 * is a client of it (plua-remote.c).
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <lauxlib.h>
#include <libsoup/soup.h>

#include "plua-application.h"
#include "plua-clock.h"
#include "plua-config.h"
#include "plua-dbus.h"
#include "plua-html.h"
#include "plua-remote.h"
#include "plua-repl.h"
#include "plua-runtime.h"
#include "plua-signal-watch.h"
#include "plua-soup-module.h"

struct _PluaApplication
{
  GApplication  parent_instance;

  PluaConfig   *config;
  PluaRuntime  *runtime;
  PluaRepl     *repl;
  PluaApiServer *api_server;
  const PluaSoupModule *soup;   /* set with api_server */
  PluaDbusService *dbus;

  gboolean      service;          /* --service or --gapplication-service */
  gboolean      activated;        /* --gapplication-service: quit when idle */
  gint64        idle_since;       /* monotonic µs: nothing running since */

  gboolean      running;
  gboolean      repl_open;
  gboolean      min_time_reached;
  gboolean      hook_failed;
  gboolean      stdout_is_tty;
  gboolean      colour;        /* ANSI colours on stdout */
  gboolean      stdout_dirty;
  int           exit_status;

  guint         duration_id;
  guint         run_for_id;
  guint         max_time_id;
  guint         tick_id;
  guint         signal_watch_id;
};

G_DEFINE_FINAL_TYPE (PluaApplication, plua_application, G_TYPE_APPLICATION)

static void plua_application_end (PluaApplication *self, int status);

/* Exit status for a command-line error, as most Unix tools use. */
#define EXIT_USAGE 2

/* The usual conventions: NO_COLOR set to anything non-empty (no-color.org)
 * or TERM=dumb turn ANSI colours off, even on a terminal. */
static gboolean
plua_colour_wanted (void)
{
  const char *no_color = g_getenv ("NO_COLOR");
  const char *term = g_getenv ("TERM");

  if (no_color != NULL && no_color[0] != '\0')
    return FALSE;
  return g_strcmp0 (term, "dumb") != 0;
}

static void
write_output (PluaApplication *self,
              const char      *text,
              gsize            len)
{
  if (memchr (text, '<', len) != NULL || memchr (text, '&', len) != NULL)
    {
      gsize out_len;
      g_autofree char *rendered = plua_html_render (text, len, self->colour, &out_len);

      fwrite (rendered, 1, out_len, stdout);
    }
  else
    {
      fwrite (text, 1, len, stdout);
    }
  fputc ('\n', stdout);

  /* A terminal sees each line at once; a pipe gets whole batches, flushed
   * after each round of callbacks (see on_dispatched). */
  if (self->stdout_is_tty)
    fflush (stdout);
  else
    self->stdout_dirty = TRUE;
}

static void
on_output (PluaRuntime     *runtime,
           const char      *text,
           guint64          len,
           PluaApplication *self)
{
  write_output (self, text, len);
}

static void
flush_stdout (PluaApplication *self)
{
  if (self->stdout_dirty)
    {
      fflush (stdout);
      self->stdout_dirty = FALSE;
    }
}

/* Calls _PY.isRunning(_PY.getRuntimeState()) if there is such a hook; runs
 * under lua_pcall, so a script that broke _PY cannot bring plua down. */
static int
call_is_running (lua_State *L)
{
  if (lua_getglobal (L, "_PY") != LUA_TTABLE ||
      lua_getfield (L, 1, "isRunning") != LUA_TFUNCTION)
    return 0;
  lua_getfield (L, 1, "getRuntimeState");
  lua_call (L, 0, 1);
  lua_call (L, 1, 1);
  return 1;
}

/* _PY.isRunning(state): FALSE ends the run; nil and anything else go on. */
static gboolean
hook_says_stop (PluaApplication *self)
{
  lua_State *L = plua_runtime_get_state (self->runtime);
  int top = lua_gettop (L);
  gboolean stop = FALSE;

  if (self->hook_failed)
    return FALSE;

  lua_pushcfunction (L, call_is_running);
  if (lua_pcall (L, 0, 1, 0) != LUA_OK)
    {
      /* Reported once: a broken hook would otherwise repeat after every batch. */
      self->hook_failed = TRUE;
      plua_runtime_report_error (self->runtime, L, _("_PY.isRunning failed and is no longer called"));
    }
  else
    {
      stop = lua_isboolean (L, -1) && !lua_toboolean (L, -1);
    }
  lua_settop (L, top);
  return stop;
}

static gboolean
idle_ends_run (PluaApplication *self)
{
  const PluaConfig *config = self->config;

  if (self->repl_open || self->service)
    return FALSE;
  if (config->has_run_for && config->run_for <= 0)
    return FALSE;   /* 0: until stopped; < 0: exactly |N| seconds */
  if (config->has_run_for && !self->min_time_reached)
    return FALSE;
  return plua_runtime_get_total_pending (self->runtime) == 0;
}

/* Seconds from PLUA_SERVICE_IDLE_TIMEOUT / PLUA_EXECUTE_TIMEOUT, or the default. */
static double
env_seconds (const char *name,
             double      fallback)
{
  const char *text = g_getenv (name);
  char *end;
  double value;

  if (text == NULL || text[0] == '\0')
    return fallback;
  value = g_ascii_strtod (text, &end);
  if (*end != '\0' || !(value > 0) || value > PLUA_API_MAX_TIMEOUT)
    return fallback;
  return value;
}

/* An activated service ends after PLUA_SERVICE_IDLE_TIMEOUT seconds (60) with
 * no D-Bus call and nothing pending in the runtime. */
static gboolean
service_idle_expired (PluaApplication *self)
{
  gint64 now = g_get_monotonic_time ();
  gint64 last;

  if (!self->activated || self->dbus == NULL)
    return FALSE;
  if (plua_runtime_get_total_pending (self->runtime) > 0 ||
      plua_dbus_service_get_n_pending (self->dbus) > 0)
    {
      self->idle_since = now;
      return FALSE;
    }
  last = MAX (self->idle_since, plua_dbus_service_get_last_activity (self->dbus));
  return now - last >= (gint64) (env_seconds ("PLUA_SERVICE_IDLE_TIMEOUT", 60.0) * G_USEC_PER_SEC);
}

static void
check_end (PluaApplication *self)
{
  if (!self->running)
    return;
  if (service_idle_expired (self))
    {
      plua_runtime_debug (self->runtime, "service idle: stopping");
      plua_application_end (self, 0);
    }
  else if (hook_says_stop (self))
    {
      plua_runtime_debug (self->runtime, "_PY.isRunning returned false: stopping");
      plua_application_end (self, 0);
    }
  else if (idle_ends_run (self))
    {
      plua_runtime_debug (self->runtime, "nothing pending: stopping");
      plua_application_end (self, 0);
    }
}

static void
on_dispatched (PluaRuntime     *runtime,
               PluaApplication *self)
{
  flush_stdout (self);
  check_end (self);
}

static void
on_exit_requested (PluaRuntime     *runtime,
                   int              status,
                   PluaApplication *self)
{
  plua_application_end (self, status);
}

static gboolean
on_tick (gpointer data)
{
  check_end (data);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_duration (gpointer data)
{
  PluaApplication *self = data;

  self->duration_id = 0;
  plua_runtime_debug (self->runtime, "--duration reached: stopping");
  plua_application_end (self, 0);
  return G_SOURCE_REMOVE;
}

static gboolean
on_max_time (gpointer data)
{
  PluaApplication *self = data;

  self->max_time_id = 0;
  plua_runtime_debug (self->runtime, "--max-time reached: stopping");
  plua_application_end (self, 0);
  return G_SOURCE_REMOVE;
}

static gboolean
on_run_for (gpointer data)
{
  PluaApplication *self = data;

  self->run_for_id = 0;
  if (self->config->run_for < 0)
    {
      plua_application_end (self, 0);
    }
  else
    {
      self->min_time_reached = TRUE;
      check_end (self);
    }
  return G_SOURCE_REMOVE;
}

/* SIGINT clears the REPL's line when it has one; otherwise SIGINT and
 * SIGTERM end the run cleanly. */
static void
on_signal (int      signum,
           gpointer data)
{
  PluaApplication *self = data;

  if (signum == SIGINT && self->repl_open && plua_repl_interrupt (self->repl))
    return;
  plua_runtime_debug (self->runtime, "%s: stopping", signum == SIGINT ? "SIGINT" : "SIGTERM");
  plua_application_end (self, 0);
}

static void
on_repl_closed (PluaRepl        *repl,
                gboolean         exit_now,
                PluaApplication *self)
{
  self->repl_open = FALSE;
  if (exit_now)
    plua_application_end (self, 0);
  else
    check_end (self);
}

static void
start_repl (PluaApplication *self)
{
  if (!self->running)
    return;
  self->repl = plua_repl_new (self->runtime);
  self->repl_open = TRUE;
  g_signal_connect (self->repl, "closed", G_CALLBACK (on_repl_closed), self);
  plua_repl_start (self->repl);
}

static void
on_main_done (PluaRuntime *runtime,
              lua_State   *co,
              int          status,
              int          nresults,
              gpointer     user_data)
{
  PluaApplication *self = user_data;

  plua_runtime_debug (runtime, "main sequence finished (%s)", status == LUA_OK ? "ok" : "error");
  /* An error in a fragment or the script ends a script run (status 1);
   * with -i the REPL opens anyway, so the user can look around. */
  if (status != LUA_OK && !self->config->interactive)
    plua_application_end (self, 1);
  else if (self->config->interactive)
    start_repl (self);
}

static void
plua_application_end (PluaApplication *self,
                      int              status)
{
  if (!self->running)
    return;

  self->running = FALSE;
  plua_clock_stop ();
  if (status != 0)
    self->exit_status = status;
  g_clear_handle_id (&self->duration_id, g_source_remove);
  g_clear_handle_id (&self->run_for_id, g_source_remove);
  g_clear_handle_id (&self->max_time_id, g_source_remove);
  g_clear_handle_id (&self->tick_id, g_source_remove);
  g_clear_handle_id (&self->signal_watch_id, plua_signal_watch_remove);
  if (self->repl != NULL)
    plua_repl_stop (self->repl);
  if (self->api_server != NULL)
    self->soup->api_server_stop (self->api_server);
  flush_stdout (self);
  plua_runtime_debug (self->runtime, "run ended");
  g_application_release (G_APPLICATION (self));
  /* g_application_run would otherwise drain the pending events before it
   * returns, and a timer chain (setTimeout(f, 0)) always has one: the run
   * would never end. */
  g_application_quit (G_APPLICATION (self));
}

/* arg as the lua interpreter sets it: arg[0] the script, arg[1..] its
 * arguments, negative indices the interpreter and its options. */
static void
set_arg_table (lua_State        *L,
               const PluaConfig *config)
{
  int argc = g_strv_length (config->argv);

  lua_createtable (L, argc, 1);
  for (int i = 0; i < argc; i++)
    {
      lua_pushstring (L, config->argv[i]);
      lua_rawseti (L, -2, i - config->script_index);
    }
  lua_setglobal (L, "arg");
}

static void
run_main_sequence (PluaApplication *self)
{
  lua_State *L = plua_runtime_get_state (self->runtime);
  char **fragments = self->config->fragments;
  guint n = fragments != NULL ? g_strv_length (fragments) : 0;

  lua_getglobal (L, "_PY");
  lua_getfield (L, -1, "_run_main");
  lua_remove (L, -2);
  lua_createtable (L, n, 0);
  for (guint i = 0; i < n; i++)
    {
      lua_pushstring (L, fragments[i]);
      lua_rawseti (L, -2, i + 1);
    }
  if (self->config->script != NULL)
    lua_pushstring (L, self->config->script);
  else
    lua_pushnil (L);
  plua_runtime_debug (self->runtime, "running %u fragment(s)%s%s", n,
                      self->config->script != NULL ? " and " : "",
                      self->config->script != NULL ? self->config->script : "");
  plua_runtime_spawn (self->runtime, L, 2, PLUA_SPAWN_DEFAULT, on_main_done, self);
  plua_runtime_dispatched (self->runtime);
}

/* The REST server. Asked for explicitly (--api-port, --api-host), a failure
 * ends the run with status 1 and the server keeps the run alive, as it does
 * with --fibaro; on the default port a failure is a warning, so two scripts
 * can run side by side. Returns FALSE when the run must end. */
static gboolean
start_api_server (PluaApplication *self)
{
  const PluaConfig *config = self->config;
  gboolean explicit = config->api_port_given || config->api_host_given;
  g_autoptr(GError) error = NULL;

  if (config->noapi || self->api_server != NULL || !self->running)
    return TRUE;
  self->soup = plua_soup_module_get (&error);
  if (self->soup != NULL)
    self->api_server = self->soup->api_server_new (self->runtime);
  if (self->api_server == NULL || !self->soup->api_server_start (self->api_server, &error))
    {
      g_clear_object (&self->api_server);
      if (explicit)
        {
          g_printerr ("plua: %s\n", error->message);
          plua_application_end (self, 1);
          return FALSE;
        }
      g_printerr (_("plua: warning: %s; running without the REST API\n"), error->message);
      return TRUE;
    }
  if ((explicit || config->fibaro) && !self->service)
    plua_runtime_hold (self->runtime, PLUA_PENDING_SERVER);
  if (self->dbus != NULL)
    plua_dbus_service_set_api_port (self->dbus, self->soup->api_server_get_port (self->api_server));
  return TRUE;
}

/* The runtime, made once: by dbus_register for the service (calls may come
 * in as soon as the name is owned), else by command_line. */
static void
ensure_runtime (PluaApplication *self)
{
  if (self->runtime != NULL)
    return;
  plua_clock_configure (self->config->speed, self->config->instant);
  self->runtime = plua_runtime_new (self->config);
  g_signal_connect (self->runtime, "output", G_CALLBACK (on_output), self);
  g_signal_connect (self->runtime, "dispatched", G_CALLBACK (on_dispatched), self);
  g_signal_connect (self->runtime, "exit-requested", G_CALLBACK (on_exit_requested), self);
}

static gboolean
plua_application_dbus_register (GApplication    *app,
                                GDBusConnection *connection,
                                const char      *object_path,
                                GError         **error)
{
  PluaApplication *self = PLUA_APPLICATION (app);

  if (!G_APPLICATION_CLASS (plua_application_parent_class)->dbus_register (app, connection, object_path, error))
    return FALSE;
  if (!self->service)
    return TRUE;
  ensure_runtime (self);
  if (self->dbus == NULL)
    self->dbus = plua_dbus_service_new (self->runtime,
                                        env_seconds ("PLUA_EXECUTE_TIMEOUT", PLUA_API_DEFAULT_TIMEOUT),
                                        error);
  if (self->dbus == NULL)
    return FALSE;
  return plua_dbus_service_export (self->dbus, connection, PLUA_DBUS_OBJECT_PATH, error);
}

static void
plua_application_dbus_unregister (GApplication    *app,
                                  GDBusConnection *connection,
                                  const char      *object_path)
{
  PluaApplication *self = PLUA_APPLICATION (app);

  if (self->dbus != NULL)
    plua_dbus_service_unexport (self->dbus);
  G_APPLICATION_CLASS (plua_application_parent_class)->dbus_unregister (app, connection, object_path);
}

/* Launching plua from the desktop (DBusActivatable): the web REPL in the
 * default browser, or in PLUA_BROWSER (a command; tests use it). */
static void
plua_application_activate (GApplication *app)
{
  PluaApplication *self = PLUA_APPLICATION (app);
  const char *browser = g_getenv ("PLUA_BROWSER");
  const char *host = self->config->api_host;
  g_autofree char *url = NULL;
  g_autoptr(GError) error = NULL;

  if (self->dbus != NULL)
    self->idle_since = g_get_monotonic_time ();
  if (self->api_server == NULL || self->soup->api_server_get_port (self->api_server) == 0)
    {
      g_printerr (_("plua: the REST API is not running: no web REPL to open\n"));
      return;
    }
  /* A wildcard or IPv6 address: the browser goes to loopback. */
  if (host == NULL || strcmp (host, "0.0.0.0") == 0 || strchr (host, ':') != NULL)
    host = "127.0.0.1";
  url = g_strdup_printf ("http://%s:%u/web", host, self->soup->api_server_get_port (self->api_server));
  if (browser != NULL && browser[0] != '\0')
    {
      g_auto(GStrv) argv = NULL;

      if (g_shell_parse_argv (browser, NULL, &argv, &error))
        {
          guint n = g_strv_length (argv);

          argv = g_renew (char *, argv, n + 2);
          argv[n] = g_strdup (url);
          argv[n + 1] = NULL;
          g_spawn_async (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, &error);
        }
    }
  else
    {
      g_app_info_launch_default_for_uri (url, NULL, &error);
    }
  if (error != NULL)
    g_printerr (_("plua: cannot open %s in a browser: %s\n"), url, error->message);
}

/* The service's run: no script, the API server per the options, the D-Bus
 * interface already exported by dbus_register. */
static void
start_service (PluaApplication *self)
{
  plua_runtime_debug (self->runtime, "service %s started%s", PLUA_APP_ID,
                      self->activated ? " by D-Bus activation" : "");
  self->idle_since = g_get_monotonic_time ();
  start_api_server (self);
}

/* Sets the run going: the runtime, signals, timers, then the script, the
 * REPL or the service. The run ends in plua_application_end. */
static void
start_run (PluaApplication *self)
{
  const PluaConfig *config = self->config;

  g_application_hold (G_APPLICATION (self));
  self->running = TRUE;
  self->stdout_is_tty = isatty (STDOUT_FILENO);
  self->colour = self->stdout_is_tty && plua_colour_wanted ();

  ensure_runtime (self);

  self->signal_watch_id = plua_signal_watch_add (on_signal, self);
  self->tick_id = g_timeout_add_seconds (1, on_tick, self);
  if (config->has_duration)
    self->duration_id = g_timeout_add ((guint) MAX (config->duration * 1000.0, 0), on_duration, self);
  if (config->has_run_for && config->run_for != 0)
    self->run_for_id = g_timeout_add ((guint) (ABS (config->run_for) * 1000.0), on_run_for, self);
  if (config->has_max_time)
    self->max_time_id = plua_clock_add_limit (config->max_time, on_max_time, self);

  plua_runtime_debug (self->runtime, "runtime started (%s)", LUA_RELEASE);

  set_arg_table (plua_runtime_get_state (self->runtime), config);
  if (self->service)
    {
      start_service (self);
      return;
    }
  /* Asked for, the server is up before the script runs; otherwise only once
   * the script is still running after its first pass: a quick
   * `plua -e 'print(1)'` never binds a port. */
  if ((config->api_port_given || config->api_host_given || config->fibaro) &&
      !start_api_server (self))
    return;
  if (config->fragments != NULL || config->script != NULL)
    {
      run_main_sequence (self);
      start_api_server (self);
    }
  else
    {
      start_api_server (self);
      start_repl (self);
    }
}

/* The service's command line (its own, or one forwarded to it). */
static int
plua_application_command_line (GApplication            *app,
                               GApplicationCommandLine *cmdline)
{
  start_run (PLUA_APPLICATION (app));
  return 0;
}

/* A script, -e or REPL run: in this process, on its own main loop. It never
 * registers the GApplication, because registering connects to the session
 * bus, even without an application id: on a desktop that costs milliseconds
 * at every start and shows a nameless client on the user's bus. */
static int
run_locally (PluaApplication *self)
{
  start_run (self);
  while (self->running)
    g_main_context_iteration (NULL, TRUE);
  return self->exit_status;
}

typedef struct
{
  char   **fragments;
  GPtrArray *fragment_list;  /* -e and -l, in command-line order */
  char   **remaining;
  gboolean interactive;
  gboolean version;
  double   duration;
  double   run_for;
  gboolean debug;
  gboolean noapi;
  int      api_port;
  char    *api_host;
  char    *api_token;
  char    *api_token_file;
  gint64   api_max_body;
  gboolean fibaro;
  char    *fibaro_state;
  gboolean offline;
  gboolean online;
  char    *tool;
  gboolean init_qa;
  gboolean fail_fast;
  double   speed;
  gboolean instant;
  double   max_time;
  gboolean service;
  gboolean gapplication_service;
  gboolean remote;
} Options;

static void
options_clear (Options *o)
{
  g_strfreev (o->fragments);
  g_clear_pointer (&o->fragment_list, g_ptr_array_unref);
  g_strfreev (o->remaining);
  g_free (o->api_host);
  g_free (o->api_token);
  g_free (o->api_token_file);
  g_free (o->fibaro_state);
  g_free (o->tool);
}

/* A Lua string literal holding any bytes: each one as a decimal escape. */
static void
append_lua_literal (GString    *code,
                    const char *text)
{
  g_string_append_c (code, '"');
  for (const guchar *p = (const guchar *) text; *p != '\0'; p++)
    g_string_append_printf (code, "\\%03u", *p);
  g_string_append_c (code, '"');
}

static gboolean
on_execute_option (const char *name,
                   const char *value,
                   gpointer    data,
                   GError    **error)
{
  Options *o = data;

  g_ptr_array_add (o->fragment_list, g_strdup (value));
  return TRUE;
}

/* -l mod, as lua5.4 does: the global mod = require("mod"); -l g=mod names
 * the global g. It runs in order with the -e fragments. */
static gboolean
on_library_option (const char *name,
                   const char *value,
                   gpointer    data,
                   GError    **error)
{
  Options *o = data;
  const char *eq = strchr (value, '=');
  g_autofree char *global = eq != NULL ? g_strndup (value, eq - value) : g_strdup (value);
  const char *module = eq != NULL ? eq + 1 : value;
  GString *code = g_string_new ("_G[");

  append_lua_literal (code, global);
  g_string_append (code, "] = require(");
  append_lua_literal (code, module);
  g_string_append (code, ")");
  g_ptr_array_add (o->fragment_list, g_string_free (code, FALSE));
  return TRUE;
}

static GOptionContext *
create_option_context (Options *o)
{
  const GOptionEntry entries[] = {
    { "execute", 'e', 0, G_OPTION_ARG_CALLBACK, on_execute_option,
      N_("Run the Lua code CODE before the script (repeatable, in order)"), N_("CODE") },
    { "library", 'l', 0, G_OPTION_ARG_CALLBACK, on_library_option,
      N_("Require the module MOD into the global MOD (or G=MOD into G), in order with -e"), N_("MOD") },
    { "interactive", 'i', 0, G_OPTION_ARG_NONE, &o->interactive,
      N_("Enter the interactive REPL after running fragments and script"), NULL },
    { "duration", 'd', 0, G_OPTION_ARG_DOUBLE, &o->duration,
      N_("Stop after at most N seconds (fractions allowed)"), N_("N") },
    { "run-for", 0, 0, G_OPTION_ARG_DOUBLE, &o->run_for,
      N_("N > 0: run at least N seconds, then exit when idle; 0: run until stopped; N < 0: run exactly |N| seconds"),
      N_("N") },
    { "debug", 0, 0, G_OPTION_ARG_NONE, &o->debug,
      N_("Print runtime diagnostics on standard error"), NULL },
    { "noapi", 0, 0, G_OPTION_ARG_NONE, &o->noapi,
      N_("Do not start the REST API server"), NULL },
    { "api-port", 0, 0, G_OPTION_ARG_INT, &o->api_port,
      N_("Port of the REST API server (default 8888; 0 picks a free port)"), N_("PORT") },
    { "api-host", 0, 0, G_OPTION_ARG_STRING, &o->api_host,
      N_("Address the REST API server listens on (default 127.0.0.1)"), N_("HOST") },
    { "api-token", 0, 0, G_OPTION_ARG_STRING, &o->api_token,
      N_("Access token the REST API requires (default: PLUA_API_TOKEN, or a random one when not on loopback)"),
      N_("TOKEN") },
    { "api-token-file", 0, 0, G_OPTION_ARG_FILENAME, &o->api_token_file,
      N_("Read the REST API's access token from FILE (its first line): unlike --api-token, not visible in ps"), N_("FILE") },
    { "api-max-body", 0, 0, G_OPTION_ARG_INT64, &o->api_max_body,
      N_("Largest request body the REST API accepts, in bytes (default 1048576)"), N_("BYTES") },
    { "fibaro", 0, 0, G_OPTION_ARG_NONE, &o->fibaro,
      N_("Load the Fibaro HC3 QuickApp emulator"), NULL },
    { "state", 0, 0, G_OPTION_ARG_FILENAME, &o->fibaro_state,
      N_("With --fibaro: load the emulated HC3 from FILE (JSON) if it exists and save it there on changes and at exit"),
      N_("FILE") },
    { "offline", 'o', 0, G_OPTION_ARG_NONE, &o->offline,
      N_("With --fibaro: run the QuickApps offline, against the emulated HC3 only"), NULL },
    { "online", 0, 0, G_OPTION_ARG_NONE, &o->online,
      N_("With --fibaro: run the QuickApps online, against the HC3 named by HC3_URL"), NULL },
    { "tool", 't', 0, G_OPTION_ARG_STRING, &o->tool,
      N_("Run the HC3 tool NAME with the arguments that follow (plua -t help lists them)"), N_("NAME") },
    { "init-qa", 0, 0, G_OPTION_ARG_NONE, &o->init_qa,
      N_("Create a QuickApp project: plua --init-qa [TYPE] [DIR] (without TYPE, list the types)"), NULL },
    { "fail-fast", 0, 0, G_OPTION_ARG_NONE, &o->fail_fast,
      N_("With --fibaro: end the run at the first QuickApp error (syntax, onInit, a callback)"), NULL },
    { "speed", 0, 0, G_OPTION_ARG_DOUBLE, &o->speed,
      N_("Run the virtual clock (timers, os.time, os.date) N times as fast as real time"), N_("N") },
    { "instant", 0, 0, G_OPTION_ARG_NONE, &o->instant,
      N_("Virtual time: when nothing but timers is pending, jump straight to the next due timer"), NULL },
    { "max-time", 0, 0, G_OPTION_ARG_DOUBLE, &o->max_time,
      N_("End the run after T seconds of virtual time"), N_("T") },
    { "service", 0, 0, G_OPTION_ARG_NONE, &o->service,
      N_("Run as the D-Bus service io.github.plua.Plua (one per session) with the REST API"), NULL },
    { "gapplication-service", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &o->gapplication_service,
      N_("Run as the D-Bus service, started by D-Bus activation: quit when idle"), NULL },
    { "remote", 0, 0, G_OPTION_ARG_NONE, &o->remote,
      N_("Send the -e fragments and the script to the D-Bus service (starting it if needed) and print their output and results"),
      NULL },
    { "version", 'v', 0, G_OPTION_ARG_NONE, &o->version,
      N_("Show the version and exit"), NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &o->remaining,
      NULL, N_("[SCRIPT [ARGS…]]") },
    { NULL }
  };
  GOptionContext *context = g_option_context_new (NULL);

  g_option_context_set_summary (context,
    _("Run Lua 5.4 with an event loop: timers, networking, a REST API and a "
      "Fibaro HC3 QuickApp emulator. Without a script or -e, start the REPL."));
  g_option_context_set_description (context,
    _("A script run ends by itself when nothing is pending (no timer, socket, "
      "server or request).\n"
      "Exit status: 0 normal end, 1 an uncaught Lua error happened (in the script, "
      "a fragment or a callback) or the script is missing, 2 bad command line.\n"
      "Options after SCRIPT are passed to the script in the table arg."));
  /* Stop at the script: what follows it belongs to the script. */
  g_option_context_set_strict_posix (context, TRUE);
  GOptionGroup *main_group = g_option_group_new (NULL, NULL, NULL, o, NULL);

  g_option_group_add_entries (main_group, entries);
  g_option_group_set_translation_domain (main_group, GETTEXT_PACKAGE);
  g_option_context_set_main_group (context, main_group);
  o->fragment_list = g_ptr_array_new_with_free_func (g_free);
  return context;
}

static void
print_version (void)
{
  g_print ("plua %s (%s, GLib %u.%u.%u, libsoup %u.%u.%u)\n",
           PACKAGE_VERSION, LUA_RELEASE,
           glib_major_version, glib_minor_version, glib_micro_version,
           /* The version built against: calling libsoup here would make every run
            * load it and its 20 dependencies before it is needed (~1 ms). */
           SOUP_MAJOR_VERSION, SOUP_MINOR_VERSION, SOUP_MICRO_VERSION);
}

/* --api-token-file FILE: the token is the file's first line (surrounding
 * white space removed); an unreadable or empty file is an error. */
static gboolean
read_token_file (const char  *path,
                 char       **token)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  char *newline;

  if (!g_file_get_contents (path, &contents, NULL, &error))
    {
      g_printerr (_("plua: --api-token-file: %s\n"), error->message);
      return FALSE;
    }
  newline = strchr (contents, '\n');
  if (newline != NULL)
    *newline = '\0';
  g_strstrip (contents);
  if (contents[0] == '\0')
    {
      g_printerr (_("plua: --api-token-file: %s holds no token\n"), path);
      return FALSE;
    }
  *token = g_steal_pointer (&contents);
  return TRUE;
}

/* Fills self->config from the options; FALSE with *exit_status set to stop. */
static gboolean
config_from_options (PluaApplication *self,
                     Options         *o,
                     char           **argv,
                     int             *exit_status)
{
  PluaConfig *config = plua_config_new ();
  guint n_remaining = o->remaining != NULL ? g_strv_length (o->remaining) : 0;

  g_clear_pointer (&self->config, plua_config_free);
  self->config = config;

  if (o->api_port != -1 && (o->api_port < 0 || o->api_port > 65535))
    {
      g_printerr (_("plua: invalid port %d for --api-port (0–65535)\n"), o->api_port);
      *exit_status = EXIT_USAGE;
      return FALSE;
    }
  if (!(o->speed > 0 && o->speed <= 1e9))
    {
      g_printerr (_("plua: invalid speed %g for --speed (more than 0)\n"), o->speed);
      *exit_status = EXIT_USAGE;
      return FALSE;
    }
  if (!isnan (o->max_time) && !(o->max_time >= 0))
    {
      g_printerr (_("plua: invalid time %g for --max-time (0 or more seconds)\n"), o->max_time);
      *exit_status = EXIT_USAGE;
      return FALSE;
    }
  if (o->api_max_body != -1 && o->api_max_body <= 0)
    {
      g_printerr (_("plua: invalid size %lld for --api-max-body (at least 1)\n"), (long long) o->api_max_body);
      *exit_status = EXIT_USAGE;
      return FALSE;
    }

  config->fragments = g_steal_pointer (&o->fragments);
  g_free (config->program_name);
  config->program_name = g_strdup (argv[0]);
  config->argv = g_strdupv (argv);
  if (n_remaining > 0)
    {
      config->script_index = g_strv_length (argv) - n_remaining;
      config->script = g_strdup (o->remaining[0]);
      config->script_args = g_strdupv (o->remaining + 1);
    }
  config->interactive = o->interactive || (config->fragments == NULL && config->script == NULL);
  config->has_duration = !isnan (o->duration);
  config->duration = o->duration;
  config->has_run_for = !isnan (o->run_for);
  config->run_for = o->run_for;
  config->debug = o->debug;
  config->noapi = o->noapi;
  config->fibaro = o->fibaro;
  config->fibaro_state = g_steal_pointer (&o->fibaro_state);
  if (o->offline && o->online)
    {
      g_printerr (_("plua: --offline and --online cannot be used together\n"));
      *exit_status = EXIT_USAGE;
      return FALSE;
    }
  if (o->offline || o->online)
    config->hc3_mode = g_strdup (o->offline ? "offline" : "online");
  if (o->tool != NULL || o->init_qa)
    {
      if ((o->tool != NULL && o->init_qa) || config->fragments != NULL)
        {
          g_printerr (_("plua: -t and --init-qa run alone, without -e or each other\n"));
          *exit_status = EXIT_USAGE;
          return FALSE;
        }
      /* A tool runs no script: what follows is the tool's. */
      config->tool = o->init_qa ? g_strdup ("init-qa") : g_steal_pointer (&o->tool);
      config->tool_args = g_strdupv (o->remaining);
      g_clear_pointer (&config->script, g_free);
      g_clear_pointer (&config->script_args, g_strfreev);
      config->script_index = 0;
      config->interactive = o->interactive;
      config->noapi = TRUE;
      config->fragments = g_new0 (char *, 2);
      config->fragments[0] = g_strdup ("require('fibaro.tools').main()");
    }
  config->fail_fast = o->fail_fast;
  config->speed = o->speed;
  config->instant = o->instant;
  config->has_max_time = !isnan (o->max_time);
  config->max_time = o->max_time;
  config->api_port_given = o->api_port != -1;
  if (config->api_port_given)
    config->api_port = o->api_port;
  if (o->api_max_body != -1)
    config->api_max_body = o->api_max_body;
  if (o->api_token_file != NULL)
    {
      if (!read_token_file (o->api_token_file, &config->api_token))
        {
          *exit_status = 1;
          return FALSE;
        }
    }
  else if (o->api_token != NULL)
    config->api_token = g_steal_pointer (&o->api_token);
  else if (g_getenv ("PLUA_API_TOKEN") != NULL && g_getenv ("PLUA_API_TOKEN")[0] != '\0')
    config->api_token = g_strdup (g_getenv ("PLUA_API_TOKEN"));
  config->api_host_given = o->api_host != NULL;
  if (config->api_host_given)
    {
      g_free (config->api_host);
      config->api_host = g_steal_pointer (&o->api_host);
    }

  /* "-" is standard input, as for lua5.4. */
  if (config->script != NULL && strcmp (config->script, "-") != 0 &&
      !g_file_test (config->script, G_FILE_TEST_IS_REGULAR))
    {
      g_printerr (_("plua: cannot open %s: %s\n"), config->script,
                  g_file_test (config->script, G_FILE_TEST_EXISTS)
                    ? _("not a regular file") : g_strerror (ENOENT));
      *exit_status = 1;
      return FALSE;
    }
  return TRUE;
}

static gboolean
plua_application_local_command_line (GApplication   *app,
                                     char         ***arguments,
                                     int            *exit_status)
{
  PluaApplication *self = PLUA_APPLICATION (app);
  Options o = { .api_port = -1, .api_max_body = -1, .duration = NAN, .run_for = NAN,
                .speed = 1.0, .max_time = NAN };
  g_autoptr(GOptionContext) context = create_option_context (&o);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) args = g_strdupv (*arguments);
  gboolean go_on;

  if (!g_option_context_parse_strv (context, &args, &error))
    {
      g_printerr ("plua: %s\n", error->message);
      g_printerr (_("Usage: plua [OPTION…] [SCRIPT [ARGS…]]\n"
                    "Try “plua --help” for more information.\n"));
      options_clear (&o);
      *exit_status = EXIT_USAGE;
      return TRUE;
    }
  if (o.fragment_list->len > 0)
    {
      g_ptr_array_add (o.fragment_list, NULL);
      o.fragments = (char **) g_ptr_array_steal (o.fragment_list, NULL);
    }

  if (o.version)
    {
      print_version ();
      options_clear (&o);
      *exit_status = 0;
      return TRUE;
    }

  if ((o.service || o.gapplication_service) && (o.remote || o.fragments != NULL || o.remaining != NULL || o.interactive))
    {
      g_printerr (_("plua: --service runs no script, -e, -i or --remote\n"));
      options_clear (&o);
      *exit_status = EXIT_USAGE;
      return TRUE;
    }
  if (o.remote && o.fragments == NULL && o.remaining == NULL)
    {
      g_printerr (_("plua: --remote needs -e CODE or a script\n"));
      options_clear (&o);
      *exit_status = EXIT_USAGE;
      return TRUE;
    }
  self->service = o.service || o.gapplication_service;
  self->activated = o.gapplication_service;

  go_on = config_from_options (self, &o, *arguments, exit_status);
  options_clear (&o);
  if (!go_on)
    return TRUE;

  if (o.remote)
    {
      *exit_status = plua_remote_run (self->config->fragments, self->config->script);
      return TRUE;
    }
  if (self->service)
    {
      g_clear_error (&error);
      /* Unique: the id makes GApplication own the name on the session bus
       * (and call dbus_register, which exports Runtime1). */
      self->config->interactive = FALSE;
      g_application_set_application_id (app, PLUA_APP_ID);
      g_application_set_flags (app, G_APPLICATION_HANDLES_COMMAND_LINE);
      /* Without a session bus GApplication would go on as a lone instance. */
      if (g_application_register (app, NULL, &error) && g_application_get_dbus_connection (app) == NULL)
        g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, _("no session bus"));
      if (error != NULL)
        {
          g_printerr (_("plua: cannot start the D-Bus service: %s\n"), error->message);
          *exit_status = 1;
          return TRUE;
        }
      if (g_application_get_is_remote (app))
        {
          g_printerr (_("plua: the service %s is already running\n"), PLUA_APP_ID);
          *exit_status = 1;
          return TRUE;
        }
    }

  if (!self->service)
    {
      *exit_status = run_locally (self);
      return TRUE;
    }

  /* The script's own arguments are not GApplication's business. */
  g_strfreev (*arguments);
  *arguments = g_new0 (char *, 2);
  (*arguments)[0] = g_strdup (self->config->program_name);
  return FALSE;
}

static void
plua_application_dispose (GObject *object)
{
  PluaApplication *self = PLUA_APPLICATION (object);

  g_clear_object (&self->repl);
  /* Before the runtime: its calls in progress hold Lua threads. */
  g_clear_pointer (&self->dbus, plua_dbus_service_free);
  g_clear_object (&self->api_server);
  g_clear_object (&self->runtime);

  G_OBJECT_CLASS (plua_application_parent_class)->dispose (object);
}

static void
plua_application_finalize (GObject *object)
{
  PluaApplication *self = PLUA_APPLICATION (object);

  g_clear_pointer (&self->config, plua_config_free);

  G_OBJECT_CLASS (plua_application_parent_class)->finalize (object);
}

static void
plua_application_class_init (PluaApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = plua_application_dispose;
  object_class->finalize = plua_application_finalize;
  app_class->local_command_line = plua_application_local_command_line;
  app_class->command_line = plua_application_command_line;
  app_class->dbus_register = plua_application_dbus_register;
  app_class->dbus_unregister = plua_application_dbus_unregister;
  app_class->activate = plua_application_activate;
}

static void
plua_application_init (PluaApplication *self)
{
}

PluaApplication *
plua_application_new (void)
{
  const char *localedir = g_getenv ("PLUA_LOCALEDIR");

  /* Translations from elsewhere than LOCALEDIR: a relocated install, or the
   * build tree's in the tests. Before any option is parsed. */
  if (localedir != NULL && localedir[0] != '\0')
    bindtextdomain (GETTEXT_PACKAGE, localedir);
  /* Non-unique: every `plua script.lua` is its own process, side by side.
   * Such a run is handled in local_command_line and never registers (see
   * run_locally); the D-Bus service mode sets PLUA_APP_ID and registers. */
  return g_object_new (PLUA_TYPE_APPLICATION,
                       "flags", G_APPLICATION_NON_UNIQUE | G_APPLICATION_HANDLES_COMMAND_LINE,
                       NULL);
}

int
plua_application_run (PluaApplication *self,
                      int              argc,
                      char           **argv)
{
  int status;

  g_return_val_if_fail (PLUA_IS_APPLICATION (self), 1);

  status = g_application_run (G_APPLICATION (self), argc, argv);
  if (status == 0)
    status = self->exit_status;
  if (status == 0 && self->runtime != NULL && plua_runtime_had_error (self->runtime))
    status = 1;
  fflush (stdout);
  if (self->runtime != NULL && plua_runtime_get_app_errors (self->runtime) > 0)
    {
      guint n = plua_runtime_get_app_errors (self->runtime);

      /* One line a VS Code task or a CI log shows at the end. */
      g_printerr (g_dngettext (GETTEXT_PACKAGE, "plua: %u QuickApp error\n",
                               "plua: %u QuickApp errors\n", n), n);
    }
  return status;
}

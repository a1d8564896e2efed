/* plua-config.h: the settings a run is started with (command line, later D-Bus).
 *
 * A plain struct, not a GObject: it is filled once by the application and read by
 * the runtime, which also exposes it to Lua as _PY.config.runtime_config.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  char  **fragments;      /* -e CODE, in order (NULL-terminated, may be NULL) */
  char   *script;         /* main script path, or NULL */
  char  **script_args;    /* arguments after the script (NULL-terminated, may be NULL) */
  char   *program_name;   /* argv[0] */
  char  **argv;           /* the whole command line, for Lua's arg table */
  int     script_index;   /* index of the script in argv, 0 without one */
  gboolean interactive;   /* -i, or nothing to run */
  gboolean has_duration;
  double   duration;      /* -d N seconds: stop after N seconds at the latest */
  gboolean has_run_for;
  double   run_for;       /* --run-for N: see README */
  gboolean debug;
  gboolean noapi;
  gboolean api_port_given;
  int      api_port;
  gboolean api_host_given;
  char    *api_host;
  char    *api_token;      /* --api-token or PLUA_API_TOKEN, else NULL */
  guint64  api_max_body;   /* largest request body accepted, in bytes */
  gboolean fibaro;
  char    *fibaro_state;   /* --state FILE: the emulator's state file, or NULL */
  char    *hc3_mode;       /* "offline" (-o) or "online" (--online), NULL: the QuickApp decides */
  char    *tool;           /* -t NAME (or "init-qa" for --init-qa): run an HC3 tool, no script */
  char   **tool_args;      /* the tool's arguments (NULL-terminated, may be NULL) */
  gboolean fail_fast;      /* --fail-fast: the first QuickApp error ends the run */
  double   speed;          /* --speed N: virtual time runs N times real time (1 by default) */
  gboolean instant;        /* --instant: jump to the next due timer when idle */
  gboolean has_max_time;
  double   max_time;       /* --max-time T: end the run after T virtual seconds */
} PluaConfig;

PluaConfig *plua_config_new  (void);
void        plua_config_free (PluaConfig *config);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PluaConfig, plua_config_free)

G_END_DECLS

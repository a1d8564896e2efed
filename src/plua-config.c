/* plua-config.c: defaults and lifetime of PluaConfig. */
#include "config.h"

#include "plua-config.h"

PluaConfig *
plua_config_new (void)
{
  PluaConfig *config = g_new0 (PluaConfig, 1);

  config->api_port = 8888;
  config->api_host = g_strdup ("127.0.0.1");
  config->api_max_body = 1024 * 1024;
  config->program_name = g_strdup ("plua");
  config->speed = 1.0;
  return config;
}

void
plua_config_free (PluaConfig *config)
{
  if (config == NULL)
    return;
  g_strfreev (config->fragments);
  g_strfreev (config->script_args);
  g_strfreev (config->argv);
  g_free (config->script);
  g_free (config->program_name);
  g_free (config->api_host);
  g_free (config->api_token);
  g_free (config->fibaro_state);
  g_free (config->hc3_mode);
  g_free (config->tool);
  g_strfreev (config->tool_args);
  g_free (config);
}

/* plua-mqtt-module.c: the core's side of plua-mqtt.so (see the header). */
#include "config.h"

#include <glib/gi18n.h>
#include <lauxlib.h>

#include "plua-modules.h"
#include "plua-mqtt-module.h"
#include "plua-net-common.h"

static int
open_mqtt (lua_State *L)
{
#if HAVE_MQTT
  GError *error = NULL;
  const PluaMqttModule *table = plua_modules_load ("mqtt", PLUA_MQTT_MODULE_ABI, &error);

  if (table == NULL)
    {
      /* Freed before lua_error, which does not return. */
      lua_pushstring (L, error->message);
      g_error_free (error);
      return lua_error (L);
    }
  return table->open (L);
#else
  return luaL_error (L, "%s", _("MQTT is not available: this plua was built without libmosquitto (-Dmqtt=disabled)"));
#endif
}

int
plua_mqtt_module_open (lua_State *L)
{
  plua_net_preload (L, "plua.mqtt", open_mqtt);
  return 0;
}

/* plua-mqtt-module.h: the MQTT client, loaded on first use.
 *
 * libmosquitto (and the OpenSSL it brings) is only mapped by runs that use
 * MQTT: the client lives in plua-mqtt.so (plua-modules.h), loaded the first
 * time a script requires "plua.mqtt" (net.MQTTClient, the QuickApps'
 * mqtt.Client). A build without libmosquitto (-Dmqtt=disabled) keeps the Lua
 * API, which then raises a clear error when a client connects.
 */
#pragma once

#include <glib.h>
#include <lua.h>

G_BEGIN_DECLS

/* Bumped whenever the table changes: a stale module is refused. */
#define PLUA_MQTT_MODULE_ABI 1

typedef struct
{
  guint abi;

  /* `require "plua.mqtt"`: the C primitives of lua/net/mqtt.lua. */
  lua_CFunction open;
} PluaMqttModule;

/* Registers the "plua.mqtt" preload, which loads the module when first
 * required. One of the runtime's module openers. */
int plua_mqtt_module_open (lua_State *L);

G_END_DECLS

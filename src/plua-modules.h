/* plua-modules.h: the parts of plua loaded on first use.
 *
 * Each is a GModule, plua-NAME.so, whose one exported function
 * plua_NAME_module_query returns a table of functions that begins with the
 * ABI number the core was built with. They take what they need of the core
 * (lua_*, plua_*) from the executable, which exports it. The file is searched
 * for in $PLUA_MODULE_DIR, next to the executable (the build tree), at the
 * install's place relative to the executable (a moved or DESTDIR install) and
 * in the configured module directory ($libdir/plua).
 *
 * Today: "soup" (plua-soup-module.h: HTTP, WebSocket, the REST API) and
 * "readline" (the REPL's line editing).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Loads plua-NAME.so once and returns its table; NULL with error set when it
 * cannot be found or was built for another ABI. Main thread only. */
gconstpointer plua_modules_load (const char  *name,
                                 guint        abi,
                                 GError     **error);

G_END_DECLS

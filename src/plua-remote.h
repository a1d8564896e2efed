/* plua-remote.h: `plua --remote`, a client of the D-Bus service. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Sends each fragment, then the script's code, to the service's Execute
 * (starting the service through D-Bus activation if needed), prints their
 * output and results; stops at the first failure. Returns the exit status:
 * 0 when everything succeeded, 1 otherwise. */
int plua_remote_run (char       **fragments,
                     const char  *script);

G_END_DECLS

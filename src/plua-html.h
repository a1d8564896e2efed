/* plua-html.h: the HC3 console's HTML subset rendered for a terminal or a pipe. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Renders text that may contain the HC3 console HTML subset (<font color=...>,
 * <br>, <b>, <i>, <span style="color:...">, &nbsp; and other entities).
 * ansi TRUE: colours as xterm-256 ANSI escapes, one escape per coloured run.
 * ansi FALSE: plain text, tags removed, entities decoded.
 * Text without '<' or '&' is returned unchanged (a copy). */
char *plua_html_render (const char *text, gsize len, gboolean ansi, gsize *out_len);

/* Colour name, "#rrggbb" or "rgb(r,g,b)" → xterm-256 code, or -1 if unknown. */
int   plua_html_color_code (const char *color);

G_END_DECLS

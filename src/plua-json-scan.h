/* plua-json-scan.h: the one JSON reader of plua. json.decode, the REST
 * server's request bodies and net.HTTPServer's content sniffing all go
 * through it, so what one accepts the others accept, with the same depth
 * limit (json-glib's own parser, which recurses without limit and accepts
 * more than JSON, never sees text from outside).
 *
 * What it reads: RFC 8259 JSON, plus what json.decode has always documented:
 * C-style comments, single-quoted strings (no escapes inside), hexadecimal
 * integers (0x1F), a UTF-8 byte-order mark at the start. Any value may be
 * the top level; only whitespace and comments may follow it. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* What the scanner found, in document order. Strings are not NUL-terminated
 * and stay valid only during the call. Handlers may raise a Lua error: the
 * scanner holds no memory of its own while it calls them. */
typedef struct
{
  void (*begin)   (gpointer user_data, gboolean array);
  void (*end)     (gpointer user_data, gboolean array);
  void (*key)     (gpointer user_data, const char *s, gsize len);
  void (*string)  (gpointer user_data, const char *s, gsize len);
  void (*integer) (gpointer user_data, gint64 value);
  void (*number)  (gpointer user_data, double value);
  void (*boolean) (gpointer user_data, gboolean value);
  void (*null)    (gpointer user_data);
} PluaJsonSink;

/* Reads data (len bytes, no NUL needed) and reports it to sink (NULL: only
 * checks). Nesting beyond max_depth (at most PLUA_JSON_MAX_DEPTH) is an
 * error. scratch holds unescaped strings; the caller owns it so that a Lua
 * error raised from a handler cannot leak it. Errors are PLUA_JSON_ERROR
 * PARSE or DEPTH, "line L column C: message" (or "empty input"). */
gboolean  plua_json_scan       (const char         *data,
                                gsize               len,
                                guint               max_depth,
                                const PluaJsonSink *sink,
                                gpointer            user_data,
                                GString            *scratch,
                                GError            **error);

/* The text as a JsonNode tree, read by plua_json_scan. */
JsonNode *plua_json_scan_node  (const char         *data,
                                gsize               len,
                                guint               max_depth,
                                GError            **error);

G_END_DECLS

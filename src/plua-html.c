/* plua-html.c: the HC3 console's HTML subset rendered for a terminal or a pipe.
 *
 * What counts as a tag: only text shaped like `<[/]?[a-zA-Z][^<>]*>`. Anything
 * else that starts with '<' ("a < b", "x<3", "<!-- -->") is ordinary text and is
 * copied as it is. Recognised tags change the rendering state; all other tags
 * (<p>, <div>...) are dropped, in both modes, keeping their content.
 *
 * A <table> keeps its cells apart, the same on a terminal and in a pipe: each
 * row on a line of its own, cells separated by a tab (so `cut -f` reads a
 * pipe), the table on lines of its own; white space between a table's tags
 * (outside cells) is dropped, so an indented table renders the same.
 *
 * Entities are decoded only in text, after tag parsing, so "&lt;b&gt;" prints
 * "<b>" and never turns into live markup (the original decoded first).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "plua-html.h"

#define ESC "\033"

typedef struct
{
  const char *name;
  int         code;
} PluaColorName;

/* The HC3/plua colour names (original-runtime.md, Appendix B), sorted by
 * strcmp() order for bsearch(). */
static const PluaColorName color_names[] = {
  { "aqua", 14 }, { "aquamarine1", 122 }, { "aquamarine3", 79 }, { "black", 0 },
  { "blue", 12 }, { "blue1", 21 }, { "blue3", 20 }, { "blueviolet", 57 },
  { "bright_black", 8 }, { "bright_blue", 12 }, { "bright_cyan", 14 },
  { "bright_green", 10 }, { "bright_magenta", 13 }, { "bright_red", 9 },
  { "bright_white", 15 }, { "bright_yellow", 11 }, { "brown", 130 }, { "cadetblue", 73 },
  { "chartreuse1", 118 }, { "chartreuse2", 112 }, { "chartreuse3", 76 },
  { "chartreuse4", 64 }, { "coral", 210 }, { "cornflowerblue", 69 },
  { "cornsilk1", 230 }, { "cyan", 6 }, { "cyan1", 51 }, { "cyan2", 50 }, { "cyan3", 43 },
  { "dark_gray", 236 }, { "darkblue", 18 }, { "darkcyan", 36 }, { "darkgoldenrod", 136 },
  { "darkgreen", 22 }, { "darkkhaki", 143 }, { "darkmagenta", 91 },
  { "darkolivegreen1", 192 }, { "darkolivegreen2", 155 }, { "darkolivegreen3", 149 },
  { "darkorange", 208 }, { "darkorange3", 166 }, { "darkred", 88 },
  { "darkseagreen", 108 }, { "darkseagreen1", 193 }, { "darkseagreen2", 157 },
  { "darkseagreen3", 150 }, { "darkseagreen4", 71 }, { "darkslateblue", 60 },
  { "darkslategray", 58 }, { "darkslategray1", 123 }, { "darkslategray2", 87 },
  { "darkslategray3", 116 }, { "darkturquoise", 44 }, { "darkviolet", 128 },
  { "deeppink1", 199 }, { "deeppink2", 197 }, { "deeppink3", 162 }, { "deeppink4", 125 },
  { "deepskyblue", 39 }, { "deepskyblue1", 39 }, { "deepskyblue2", 38 },
  { "deepskyblue3", 32 }, { "deepskyblue4", 25 }, { "dodgerblue1", 33 },
  { "dodgerblue2", 27 }, { "dodgerblue3", 26 }, { "floralwhite", 230 },
  { "fuchsia", 13 }, { "gainsboro", 188 }, { "gold", 220 }, { "gold1", 220 },
  { "gold3", 178 }, { "gray", 8 }, { "green", 2 }, { "green1", 46 }, { "green3", 40 },
  { "green4", 28 }, { "greenyellow", 154 }, { "grey", 8 }, { "grey0", 16 },
  { "grey100", 231 }, { "grey11", 234 }, { "grey15", 235 }, { "grey19", 236 },
  { "grey23", 237 }, { "grey27", 238 }, { "grey3", 232 }, { "grey30", 239 },
  { "grey35", 240 }, { "grey37", 59 }, { "grey39", 241 }, { "grey42", 242 },
  { "grey46", 243 }, { "grey50", 244 }, { "grey53", 102 }, { "grey54", 245 },
  { "grey58", 246 }, { "grey62", 247 }, { "grey63", 139 }, { "grey66", 248 },
  { "grey69", 145 }, { "grey7", 233 }, { "grey70", 249 }, { "grey74", 250 },
  { "grey78", 251 }, { "grey82", 252 }, { "grey84", 188 }, { "grey85", 253 },
  { "grey89", 254 }, { "grey93", 255 }, { "honeydew2", 194 }, { "hotpink", 206 },
  { "hotpink2", 169 }, { "hotpink3", 168 }, { "indianred", 167 }, { "indianred1", 204 },
  { "indigo", 55 }, { "khaki", 143 }, { "khaki1", 228 }, { "khaki3", 185 },
  { "lavender", 189 }, { "lavenderblush", 225 }, { "lemonchiffon", 187 },
  { "light_blue", 39 }, { "light_gray", 248 }, { "light_green", 46 },
  { "light_red", 203 }, { "light_yellow", 227 }, { "lightcoral", 210 },
  { "lightcyan1", 195 }, { "lightcyan3", 152 }, { "lightgoldenrod1", 227 },
  { "lightgoldenrod2", 222 }, { "lightgoldenrod3", 179 },
  { "lightgoldenrodyellow", 186 }, { "lightgreen", 120 }, { "lightpink1", 217 },
  { "lightpink3", 174 }, { "lightpink4", 95 }, { "lightsalmon1", 216 },
  { "lightsalmon3", 173 }, { "lightseagreen", 37 }, { "lightskyblue1", 153 },
  { "lightskyblue3", 110 }, { "lightslateblue", 105 }, { "lightslategrey", 103 },
  { "lightsteelblue", 147 }, { "lightsteelblue1", 189 }, { "lightsteelblue3", 146 },
  { "lightyellow3", 187 }, { "lime", 10 }, { "magenta", 201 }, { "magenta2", 200 },
  { "magenta3", 164 }, { "maroon", 1 }, { "mediumorchid", 134 },
  { "mediumorchid1", 207 }, { "mediumorchid3", 133 }, { "mediumpurple", 104 },
  { "mediumpurple1", 141 }, { "mediumpurple2", 140 }, { "mediumpurple3", 98 },
  { "mediumpurple4", 60 }, { "mediumspringgreen", 49 }, { "mediumturquoise", 80 },
  { "mediumvioletred", 126 }, { "mistyrose1", 224 }, { "mistyrose3", 181 },
  { "navajowhite1", 223 }, { "navajowhite3", 144 }, { "navy", 4 }, { "navyblue", 17 },
  { "olive", 3 }, { "orange", 214 }, { "orange3", 172 }, { "orange4", 94 },
  { "orangered1", 202 }, { "orchid", 170 }, { "orchid1", 213 }, { "orchid2", 212 },
  { "palegreen1", 156 }, { "palegreen3", 114 }, { "paleturquoise1", 159 },
  { "paleturquoise4", 66 }, { "palevioletred1", 211 }, { "pink", 218 }, { "pink3", 175 },
  { "plum1", 219 }, { "plum2", 183 }, { "plum3", 176 }, { "plum4", 96 },
  { "purple", 99 }, { "purple0", 93 }, { "purple3", 56 }, { "purple4", 55 },
  { "purple5", 129 }, { "purples", 5 }, { "red", 9 }, { "red1", 196 }, { "red3", 160 },
  { "rosybrown", 138 }, { "royalblue1", 63 }, { "salmon1", 209 }, { "sandybrown", 215 },
  { "seagreen1", 85 }, { "seagreen2", 83 }, { "seagreen3", 78 }, { "silver", 7 },
  { "skyblue", 117 }, { "skyblue2", 111 }, { "skyblue3", 74 }, { "slateblue", 62 },
  { "slateblue1", 99 }, { "slateblue3", 62 }, { "slategray", 102 },
  { "springgreen1", 48 }, { "springgreen2", 47 }, { "springgreen3", 41 },
  { "springgreen4", 29 }, { "steelblue", 67 }, { "steelblue1", 81 },
  { "steelblue3", 68 }, { "tan", 180 }, { "teal", 6 }, { "thistle1", 225 },
  { "thistle3", 182 }, { "turquoise2", 45 }, { "turquoise4", 30 }, { "violet", 177 },
  { "wheat1", 229 }, { "wheat4", 101 }, { "white", 15 }, { "yellow", 11 },
  { "yellow1", 226 }, { "yellow2", 190 }, { "yellow3", 184 }, { "yellow4", 106 },
};

static int
compare_color_name (const void *key,
                    const void *member)
{
  const PluaColorName *entry = member;

  return strcmp (key, entry->name);
}

/* xterm-256 cube: greys (r = g = b) go to the 232..255 ramp, others to the
 * 6x6x6 cube; both scaled by *5/255 as the original did. */
static int
rgb_to_code (int r,
             int g,
             int b)
{
  if (r == g && g == b)
    return 232 + r * 5 / 255;
  return 16 + 36 * (r * 5 / 255) + 6 * (g * 5 / 255) + b * 5 / 255;
}

static int
parse_hex_color (const char *s,
                 gsize       len)
{
  int v[6];

  if (len != 3 && len != 6)
    return -1;
  for (gsize i = 0; i < len; i++)
    {
      v[i] = g_ascii_xdigit_value (s[i]);
      if (v[i] < 0)
        return -1;
    }
  if (len == 3)
    return rgb_to_code (v[0] * 17, v[1] * 17, v[2] * 17);
  return rgb_to_code (v[0] * 16 + v[1], v[2] * 16 + v[3], v[4] * 16 + v[5]);
}

/* "r, g, b)" with decimal components; values above 255 are clamped. */
static int
parse_rgb_color (const char *s,
                 const char *end)
{
  int v[3];

  for (int i = 0; i < 3; i++)
    {
      int n = 0;
      gboolean digits = FALSE;

      while (s < end && g_ascii_isspace (*s))
        s++;
      while (s < end && g_ascii_isdigit (*s))
        {
          n = MIN (n * 10 + (*s - '0'), 1000);
          digits = TRUE;
          s++;
        }
      while (s < end && g_ascii_isspace (*s))
        s++;
      if (!digits || s == end || *s != (i < 2 ? ',' : ')'))
        return -1;
      s++;
      v[i] = MIN (n, 255);
    }
  if (s != end)
    return -1;
  return rgb_to_code (v[0], v[1], v[2]);
}

/* Works on a length-delimited, untrimmed, mixed-case slice so the renderer
 * can resolve attribute values in place, without allocating. */
static int
color_code_len (const char *color,
                gsize       len)
{
  char buf[64];

  while (len > 0 && g_ascii_isspace (*color))
    color++, len--;
  while (len > 0 && g_ascii_isspace (color[len - 1]))
    len--;
  if (len == 0 || len >= sizeof buf)
    return -1;
  for (gsize i = 0; i < len; i++)
    buf[i] = g_ascii_tolower (color[i]);
  buf[len] = '\0';

  if (buf[0] == '#')
    return parse_hex_color (buf + 1, len - 1);
  if (g_str_has_prefix (buf, "rgb("))
    return parse_rgb_color (buf + 4, buf + len);

  {
    const PluaColorName *found;

    found = bsearch (buf, color_names, G_N_ELEMENTS (color_names),
                     sizeof color_names[0], compare_color_name);
    return found != NULL ? found->code : -1;
  }
}

int
plua_html_color_code (const char *color)
{
  g_return_val_if_fail (color != NULL, -1);

  return color_code_len (color, strlen (color));
}

typedef struct
{
  GString *out;
  gboolean ansi;
  /* Effective colour per open <font>/<span>: a tag without a usable colour
   * pushes the enclosing one, so its closing tag pops symmetrically. */
  GArray  *colors;
  guint    bold;
  guint    italic;
  guint    underline;
  /* What the terminal has been told so far; escapes are only written when
   * visible text needs a different state, which gives one escape per run. */
  int      shown_color;
  gboolean shown_bold;
  gboolean shown_italic;
  gboolean shown_underline;
  /* Tables: open tables, cells so far in this row, inside a cell; a line
   * break owed before the next visible text (so a table that ends the text
   * adds no empty line), and whether the current line has text yet. */
  guint    tables;
  guint    cells;
  gboolean in_cell;
  gboolean break_pending;
  gboolean line_has_text;
} Renderer;

static int
renderer_color (Renderer *r)
{
  if (r->colors == NULL || r->colors->len == 0)
    return -1;
  return g_array_index (r->colors, int, r->colors->len - 1);
}

static void
renderer_push_color (Renderer *r,
                     int       code)
{
  if (code < 0)
    code = renderer_color (r);
  if (r->colors == NULL)
    r->colors = g_array_sized_new (FALSE, FALSE, sizeof (int), 4);
  g_array_append_val (r->colors, code);
}

static void
renderer_pop_color (Renderer *r)
{
  if (r->colors != NULL && r->colors->len > 0)
    g_array_set_size (r->colors, r->colors->len - 1);
}

static void
renderer_sync (Renderer *r)
{
  int color = renderer_color (r);
  gboolean bold = r->bold > 0;
  gboolean italic = r->italic > 0;
  gboolean underline = r->underline > 0;

  /* SGR has no portable "colour off only", so anything switched off means a
   * full reset followed by re-applying what is still active. */
  if ((r->shown_color >= 0 && color < 0) ||
      (r->shown_bold && !bold) ||
      (r->shown_italic && !italic) ||
      (r->shown_underline && !underline))
    {
      g_string_append (r->out, ESC "[0m");
      r->shown_color = -1;
      r->shown_bold = r->shown_italic = r->shown_underline = FALSE;
    }
  if (bold && !r->shown_bold)
    g_string_append (r->out, ESC "[1m");
  if (italic && !r->shown_italic)
    g_string_append (r->out, ESC "[3m");
  if (underline && !r->shown_underline)
    g_string_append (r->out, ESC "[4m");
  if (color >= 0 && color != r->shown_color)
    g_string_append_printf (r->out, ESC "[38;5;%dm", color);
  r->shown_color = color;
  r->shown_bold = bold;
  r->shown_italic = italic;
  r->shown_underline = underline;
}

/* Decodes the entity at s (s[0] == '&') into out; returns the bytes consumed,
 * or 0 when it is not one we know (the caller then copies the '&'). */
static gsize
decode_entity (const char *s,
               const char *end,
               GString    *out)
{
  static const struct { const char *name; char c; } named[] = {
    { "nbsp", ' ' }, { "amp", '&' }, { "lt", '<' }, { "gt", '>' },
    { "quot", '"' }, { "apos", '\'' },
  };
  const char *semi;
  const char *body = s + 1;
  gsize body_len;

  /* Longest we accept is "&#x10FFFF;"; bounding the scan keeps a stray '&'
   * in a long text from being quadratic. */
  semi = memchr (body, ';', MIN ((gsize) (end - body), 10));
  if (semi == NULL)
    return 0;
  body_len = semi - body;

  if (body_len >= 2 && body[0] == '#')
    {
      gunichar cp = 0;
      gboolean hex = body[1] == 'x' || body[1] == 'X';
      const char *p = body + (hex ? 2 : 1);
      char utf8[6];

      if (p == semi)
        return 0;
      for (; p < semi; p++)
        {
          int digit = hex ? g_ascii_xdigit_value (*p) : g_ascii_digit_value (*p);

          if (digit < 0)
            return 0;
          cp = cp * (hex ? 16 : 10) + digit;
          if (cp > 0x10FFFF)
            return 0;
        }
      if (cp == 0 || !g_unichar_validate (cp))
        return 0;
      g_string_append_len (out, utf8, g_unichar_to_utf8 (cp, utf8));
      return body_len + 2;
    }

  for (gsize i = 0; i < G_N_ELEMENTS (named); i++)
    {
      if (strlen (named[i].name) == body_len &&
          memcmp (named[i].name, body, body_len) == 0)
        {
          g_string_append_c (out, named[i].c);
          return body_len + 2;
        }
    }
  return 0;
}

/* Pays a line break owed by a table before visible output. */
static void
renderer_flush_break (Renderer *r)
{
  if (r->break_pending)
    g_string_append_c (r->out, '\n');
  r->break_pending = FALSE;
}

/* Owes a line break unless the current line is still empty. */
static void
renderer_break (Renderer *r)
{
  if (r->line_has_text)
    r->break_pending = TRUE;
  r->line_has_text = FALSE;
}

static gboolean
all_space (const char *s,
           const char *end)
{
  for (; s < end; s++)
    if (!g_ascii_isspace (*s))
      return FALSE;
  return TRUE;
}

static void
renderer_text (Renderer   *r,
               const char *s,
               const char *end)
{
  if (s == end)
    return;
  if (r->tables > 0 && !r->in_cell && all_space (s, end))
    return;
  renderer_flush_break (r);
  r->line_has_text = end[-1] != '\n';
  if (r->ansi)
    renderer_sync (r);

  while (s < end)
    {
      const char *amp = memchr (s, '&', end - s);
      gsize used;

      if (amp == NULL)
        {
          g_string_append_len (r->out, s, end - s);
          return;
        }
      g_string_append_len (r->out, s, amp - s);
      used = decode_entity (amp, end, r->out);
      if (used == 0)
        {
          g_string_append_c (r->out, '&');
          used = 1;
        }
      s = amp + used;
    }
}

/* Finds attribute `name` in the attribute part of a tag (between the tag
 * name and '>'). Values may be "quoted", 'quoted' or bare. */
static gboolean
find_attribute (const char  *s,
                const char  *end,
                const char  *name,
                const char **value,
                gsize       *value_len)
{
  gsize name_len = strlen (name);

  while (s < end)
    {
      const char *attr;
      const char *val = NULL;
      gsize attr_len;
      gsize val_len = 0;

      while (s < end && (g_ascii_isspace (*s) || *s == '/'))
        s++;
      attr = s;
      while (s < end && !g_ascii_isspace (*s) && *s != '=' && *s != '/')
        s++;
      attr_len = s - attr;
      while (s < end && g_ascii_isspace (*s))
        s++;
      if (s < end && *s == '=')
        {
          s++;
          while (s < end && g_ascii_isspace (*s))
            s++;
          if (s < end && (*s == '"' || *s == '\''))
            {
              const char *close = memchr (s + 1, *s, end - s - 1);

              val = s + 1;
              val_len = (close != NULL ? close : end) - val;
              s = close != NULL ? close + 1 : end;
            }
          else
            {
              val = s;
              while (s < end && !g_ascii_isspace (*s))
                s++;
              val_len = s - val;
            }
        }
      if (attr_len == 0 && val == NULL)
        {
          /* A stray '=' or quote: skip a byte so the scan always advances. */
          if (s < end)
            s++;
          continue;
        }
      if (attr_len == name_len && g_ascii_strncasecmp (attr, name, name_len) == 0)
        {
          *value = val != NULL ? val : attr + attr_len;
          *value_len = val_len;
          return TRUE;
        }
    }
  return FALSE;
}

/* The colour of a CSS declaration list ("font-weight: bold; color: red"). */
static int
style_color (const char *s,
             gsize       len)
{
  const char *end = s + len;

  while (s < end)
    {
      const char *decl_end = memchr (s, ';', end - s);
      const char *colon;

      if (decl_end == NULL)
        decl_end = end;
      colon = memchr (s, ':', decl_end - s);
      if (colon != NULL)
        {
          const char *prop = s;
          const char *prop_end = colon;

          while (prop < prop_end && g_ascii_isspace (*prop))
            prop++;
          while (prop_end > prop && g_ascii_isspace (prop_end[-1]))
            prop_end--;
          if (prop_end - prop == 5 && g_ascii_strncasecmp (prop, "color", 5) == 0)
            return color_code_len (colon + 1, decl_end - colon - 1);
        }
      s = decl_end + 1;
    }
  return -1;
}

static gboolean
tag_is (const char *name,
        gsize       name_len,
        const char *what)
{
  return strlen (what) == name_len && g_ascii_strncasecmp (name, what, name_len) == 0;
}

static void
adjust (guint   *depth,
        gboolean closing)
{
  if (!closing)
    (*depth)++;
  else if (*depth > 0)
    (*depth)--;
}

/* <table>, <tr>, <td>, <th>: rows on lines of their own, cells apart by a
 * tab. Returns FALSE for any other tag. */
static gboolean
renderer_table_tag (Renderer   *r,
                    const char *name,
                    gsize       name_len,
                    gboolean    closing)
{
  if (tag_is (name, name_len, "table"))
    {
      if (!closing)
        r->tables++;
      else if (r->tables > 0)
        r->tables--;
      renderer_break (r);
      r->cells = 0;
      r->in_cell = FALSE;
    }
  else if (tag_is (name, name_len, "tr"))
    {
      renderer_break (r);
      r->cells = 0;
      r->in_cell = FALSE;
    }
  else if (tag_is (name, name_len, "td") || tag_is (name, name_len, "th"))
    {
      r->in_cell = !closing;
      if (!closing && r->cells++ > 0)
        {
          renderer_flush_break (r);
          g_string_append_c (r->out, '\t');
          r->line_has_text = TRUE;
        }
    }
  else
    return FALSE;
  return TRUE;
}

/* Applies the tag s..end (s[0] == '<', end[-1] == '>'). */
static void
renderer_tag (Renderer   *r,
              const char *s,
              const char *end)
{
  const char *p = s + 1;
  const char *name;
  const char *attrs_end = end - 1;
  const char *value;
  gsize value_len;
  gsize name_len;
  gboolean closing = FALSE;
  gboolean self_closing;

  if (*p == '/')
    {
      closing = TRUE;
      p++;
    }
  name = p;
  while (p < attrs_end && g_ascii_isalnum (*p))
    p++;
  name_len = p - name;

  {
    const char *q = attrs_end;

    while (q > p && g_ascii_isspace (q[-1]))
      q--;
    self_closing = q > p && q[-1] == '/';
  }

  if (tag_is (name, name_len, "br"))
    {
      /* A newline carries no colour, so it needs no escape. */
      renderer_flush_break (r);
      g_string_append_c (r->out, '\n');
      r->line_has_text = FALSE;
      return;
    }
  if (renderer_table_tag (r, name, name_len, closing))
    return;
  /* <b/> and friends enclose nothing. */
  if (self_closing)
    return;

  if (tag_is (name, name_len, "font"))
    {
      if (closing)
        renderer_pop_color (r);
      else if (find_attribute (p, attrs_end, "color", &value, &value_len))
        renderer_push_color (r, color_code_len (value, value_len));
      else
        renderer_push_color (r, -1);
    }
  else if (tag_is (name, name_len, "span"))
    {
      if (closing)
        renderer_pop_color (r);
      else if (find_attribute (p, attrs_end, "style", &value, &value_len))
        renderer_push_color (r, style_color (value, value_len));
      else
        renderer_push_color (r, -1);
    }
  else if (tag_is (name, name_len, "b"))
    adjust (&r->bold, closing);
  else if (tag_is (name, name_len, "i"))
    adjust (&r->italic, closing);
  else if (tag_is (name, name_len, "u"))
    adjust (&r->underline, closing);
}

/* If s (s[0] == '<') starts a tag, returns the byte after its '>'. */
static const char *
tag_end (const char *s,
         const char *end)
{
  const char *p = s + 1;

  if (p < end && *p == '/')
    p++;
  if (p >= end || !g_ascii_isalpha (*p))
    return NULL;
  for (; p < end; p++)
    {
      if (*p == '>')
        return p + 1;
      if (*p == '<')
        return NULL;
    }
  return NULL;
}

char *
plua_html_render (const char *text,
                  gsize       len,
                  gboolean    ansi,
                  gsize      *out_len)
{
  Renderer r = { 0, };
  const char *s = text;
  const char *end = text + len;
  const char *run = text;

  g_return_val_if_fail (text != NULL || len == 0, NULL);

  if (len == 0 || (memchr (text, '<', len) == NULL && memchr (text, '&', len) == NULL))
    {
      char *copy = g_malloc (len + 1);

      if (len > 0)
        memcpy (copy, text, len);
      copy[len] = '\0';
      if (out_len != NULL)
        *out_len = len;
      return copy;
    }

  r.out = g_string_sized_new (len + 16);
  r.ansi = ansi;
  r.shown_color = -1;

  while (s < end)
    {
      const char *lt = memchr (s, '<', end - s);
      const char *after;

      if (lt == NULL)
        break;
      after = tag_end (lt, end);
      if (after == NULL)
        {
          /* Not a tag: the '<' stays part of the current text run. */
          s = lt + 1;
          continue;
        }
      renderer_text (&r, run, lt);
      renderer_tag (&r, lt, after);
      s = run = after;
    }
  renderer_text (&r, run, end);

  if (r.shown_color >= 0 || r.shown_bold || r.shown_italic || r.shown_underline)
    g_string_append (r.out, ESC "[0m");

  g_clear_pointer (&r.colors, g_array_unref);
  if (out_len != NULL)
    *out_len = r.out->len;
  return g_string_free (r.out, FALSE);
}

/* test-html.c: rendering of the HC3 console HTML subset. */
#include "config.h"

#include <string.h>

#include "plua-html.h"

#define RED   "\033[38;5;9m"
#define BLUE  "\033[38;5;12m"
#define RESET "\033[0m"

static void
assert_render (const char *input,
               gboolean    ansi,
               const char *expected)
{
  g_autofree char *out = NULL;
  gsize out_len = 0;

  out = plua_html_render (input, strlen (input), ansi, &out_len);
  g_assert_cmpstr (out, ==, expected);
  g_assert_cmpuint (out_len, ==, strlen (expected));
}

static void
test_font_named_color (void)
{
  assert_render ("<font color='red'>alarm</font>", TRUE, RED "alarm" RESET);
  assert_render ("<font color=\"red\">alarm</font>", TRUE, RED "alarm" RESET);
  assert_render ("<font color=red>alarm</font>", TRUE, RED "alarm" RESET);
  assert_render ("<FONT Color=' Orange '>x</FONT>", TRUE, "\033[38;5;214mx" RESET);
  /* An unknown colour changes nothing, and its </font> still pops it. */
  assert_render ("<font color='red'>a<font color='nosuch'>b</font>c</font>", TRUE,
                 RED "abc" RESET);
  assert_render ("<font size=3>plain</font>", TRUE, "plain");
}

static void
test_nested_fonts (void)
{
  assert_render ("<font color='red'>a<font color='blue'>b</font>c</font>d", TRUE,
                 RED "a" BLUE "b" RED "c" RESET "d");
  assert_render ("<font color='red'>a<font color='blue'>b</font>c</font>d", FALSE,
                 "abcd");
  /* Extra closing tags are harmless. */
  assert_render ("</font>a</font>", TRUE, "a");
}

static void
test_ansi_one_escape_per_run (void)
{
  /* What print() produces for every line: one escape in, one out. */
  assert_render ("<font color='white'>hello world</font>", TRUE,
                 "\033[38;5;15mhello world" RESET);
  /* Adjacent runs of the same colour share one escape. */
  assert_render ("<font color='red'>a</font><font color='red'>b</font>", TRUE,
                 RED "ab" RESET);
  /* Empty runs emit nothing at all. */
  assert_render ("<font color='white'></font>", TRUE, "");
  /* Bold is re-applied after leaving a colour while still bold. */
  assert_render ("<b><font color='red'>x</font>y</b>z", TRUE,
                 "\033[1m" RED "x" RESET "\033[1my" RESET "z");
  assert_render ("<font color='red'><b>x</b>y</font>", TRUE,
                 "\033[1m" RED "x" RESET RED "y" RESET);
  assert_render ("<i>it</i> <u>un</u>", TRUE,
                 "\033[3mit" RESET " \033[4mun" RESET);
}

static void
test_span_color (void)
{
  assert_render ("<span style=\"color: red\">a</span>b", TRUE, RED "a" RESET "b");
  assert_render ("<span style='font-weight: bold; COLOR:#0000ff;'>a</span>", TRUE,
                 "\033[38;5;21ma" RESET);
  assert_render ("<span style='background-color: red'>a</span>", TRUE, "a");
  /* A span without colour keeps the enclosing one and pops symmetrically. */
  assert_render ("<font color='red'>a<span>b</span>c</font>d", TRUE,
                 RED "abc" RESET "d");
}

static void
test_plain_strips_tags (void)
{
  assert_render ("<p>Hello <b>bold</b> <i>it</i> <u>u</u></p><div class=\"x\">z</div>",
                 FALSE, "Hello bold it uz");
  assert_render ("<font color='red'>alarm</font>", FALSE, "alarm");
  /* A one-cell table is its text alone, in ANSI mode too. */
  assert_render ("<table><tr><td>cell</td></tr></table>", TRUE, "cell");
}

static void
test_entities_after_tags (void)
{
  /* Escaped markup stays text. */
  assert_render ("&lt;font color='red'&gt;x&lt;/font&gt;", TRUE,
                 "<font color='red'>x</font>");
  assert_render ("&lt;b&gt;", FALSE, "<b>");
  assert_render ("a&nbsp;b &amp; c &quot;q&quot; &#39;s&#39; &apos;t&apos;", FALSE,
                 "a b & c \"q\" 's' 't'");
  assert_render ("&#65;&#x42;&#X43; &#233; &#x20AC;", FALSE, "ABC \xc3\xa9 \xe2\x82\xac");
  /* Unknown or malformed entities are left alone. */
  assert_render ("&copy; &foo &#; &#xZZ; &#0; &#1114112; & ;", FALSE,
                 "&copy; &foo &#; &#xZZ; &#0; &#1114112; & ;");
  assert_render ("AT&T", FALSE, "AT&T");
}

/* A table keeps its cells apart in both modes: rows on lines of their own,
 * cells separated by a tab, the table on lines of its own; white space
 * between its tags dropped; no empty line when the table ends the text. */
static void
test_table (void)
{
  const char *two_rows = "<table><tr><td>a</td><td>b</td></tr><tr><td>cc</td><td>d</td></tr></table>";

  assert_render (two_rows, FALSE, "a\tb\ncc\td");
  assert_render (two_rows, TRUE, "a\tb\ncc\td");
  assert_render ("x<table><tr><th>Name</th><th>Value</th></tr></table>y", FALSE, "x\nName\tValue\ny");
  assert_render ("<table>\n  <tr>\n    <td>one two</td>\n    <td></td><td>3</td>\n  </tr>\n</table>",
                 FALSE, "one two\t\t3");
  assert_render ("<table><tr><td><font color='red'>hot</font></td><td>21</td></tr></table>", TRUE,
                 RED "hot\t" RESET "21");
  assert_render ("<table><tr><td>a<br>b</td></tr></table>", FALSE, "a\nb");
  /* cells outside any table still separate; a stray </table> does no harm */
  assert_render ("<td>a</td><td>b</td></table>c", FALSE, "a\tb\nc");
}

static void
test_br (void)
{
  assert_render ("a<br>b<br/>c<br />d</br>e<BR>f<Br  />g", FALSE, "a\nb\nc\nd\ne\nf\ng");
  /* A newline needs no escape of its own. */
  assert_render ("<font color='red'>a<br>b</font>", TRUE, RED "a\nb" RESET);
}

static void
test_lone_less_than (void)
{
  assert_render ("a < b", FALSE, "a < b");
  assert_render ("a < b", TRUE, "a < b");
  assert_render ("x<3 && y>2", FALSE, "x<3 && y>2");
  assert_render ("<<font color='red'>x</font>", TRUE, "<" RED "x" RESET);
  assert_render ("<!-- note -->", FALSE, "<!-- note -->");
  assert_render ("1 <2 and <", FALSE, "1 <2 and <");
  assert_render ("<font color='red'", FALSE, "<font color='red'");
  assert_render ("a <b", FALSE, "a <b");
}

static void
test_fast_path (void)
{
  assert_render ("nothing to see", TRUE, "nothing to see");
  assert_render ("", TRUE, "");
}

static void
test_binary_safe (void)
{
  static const char input[] = "a\0b<b>c\0</b>&amp;\0";
  static const char plain[] = "a\0bc\0&\0";
  static const char fast[] = "x\0y";
  g_autofree char *out = NULL;
  g_autofree char *out2 = NULL;
  gsize out_len = 0;

  out = plua_html_render (input, sizeof input - 1, FALSE, &out_len);
  g_assert_cmpmem (out, out_len, plain, sizeof plain - 1);
  g_assert_cmpint (out[out_len], ==, '\0');

  out2 = plua_html_render (fast, sizeof fast - 1, TRUE, &out_len);
  g_assert_cmpmem (out2, out_len, fast, sizeof fast - 1);
}

static void
test_color_names (void)
{
  g_assert_cmpint (plua_html_color_code ("black"), ==, 0);
  g_assert_cmpint (plua_html_color_code ("red"), ==, 9);
  g_assert_cmpint (plua_html_color_code ("green"), ==, 2);
  g_assert_cmpint (plua_html_color_code ("yellow"), ==, 11);
  g_assert_cmpint (plua_html_color_code ("blue"), ==, 12);
  g_assert_cmpint (plua_html_color_code ("white"), ==, 15);
  g_assert_cmpint (plua_html_color_code ("orange"), ==, 214);
  g_assert_cmpint (plua_html_color_code ("aqua"), ==, 14);
  g_assert_cmpint (plua_html_color_code ("yellow4"), ==, 106);
  g_assert_cmpint (plua_html_color_code ("light_blue"), ==, 39);
  /* '_' sorts before letters: both sides of that boundary must be found. */
  g_assert_cmpint (plua_html_color_code ("dark_gray"), ==, 236);
  g_assert_cmpint (plua_html_color_code ("darkblue"), ==, 18);
  g_assert_cmpint (plua_html_color_code ("bright_white"), ==, 15);
  g_assert_cmpint (plua_html_color_code ("brown"), ==, 130);
  g_assert_cmpint (plua_html_color_code ("  GREY93 "), ==, 255);
  g_assert_cmpint (plua_html_color_code ("nosuchcolour"), ==, -1);
  g_assert_cmpint (plua_html_color_code (""), ==, -1);
}

static void
test_color_hex (void)
{
  g_assert_cmpint (plua_html_color_code ("#ff0000"), ==, 196);
  g_assert_cmpint (plua_html_color_code ("#FF0000"), ==, 196);
  g_assert_cmpint (plua_html_color_code ("#f00"), ==, 196);
  g_assert_cmpint (plua_html_color_code ("#00ff00"), ==, 46);
  g_assert_cmpint (plua_html_color_code ("#0000ff"), ==, 21);
  /* Greys go to the ramp with the original's *5/255 scaling. */
  g_assert_cmpint (plua_html_color_code ("#000000"), ==, 232);
  g_assert_cmpint (plua_html_color_code ("#808080"), ==, 234);
  g_assert_cmpint (plua_html_color_code ("#ffffff"), ==, 237);
  g_assert_cmpint (plua_html_color_code ("#123456"), ==, 16 + 36 * 0 + 6 * 1 + 1);
  g_assert_cmpint (plua_html_color_code ("#12345"), ==, -1);
  g_assert_cmpint (plua_html_color_code ("#gggggg"), ==, -1);
  g_assert_cmpint (plua_html_color_code ("#"), ==, -1);
}

static void
test_color_rgb (void)
{
  g_assert_cmpint (plua_html_color_code ("rgb(10,10,10)"), ==, 232);
  g_assert_cmpint (plua_html_color_code ("rgb(255, 0, 0)"), ==, 196);
  g_assert_cmpint (plua_html_color_code ("RGB( 0 , 255 , 0 )"), ==, 46);
  g_assert_cmpint (plua_html_color_code ("rgb(300, 0, 0)"), ==, 196);
  g_assert_cmpint (plua_html_color_code ("rgb(1,2)"), ==, -1);
  g_assert_cmpint (plua_html_color_code ("rgb(1,2,3"), ==, -1);
  g_assert_cmpint (plua_html_color_code ("rgb(1,2,3)x"), ==, -1);
  g_assert_cmpint (plua_html_color_code ("rgb(a,b,c)"), ==, -1);
  assert_render ("<font color='rgb(255, 0, 0)'>r</font>", TRUE, "\033[38;5;196mr" RESET);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/html/font/named-color", test_font_named_color);
  g_test_add_func ("/html/nested-fonts", test_nested_fonts);
  g_test_add_func ("/html/table", test_table);
  g_test_add_func ("/html/ansi/one-escape-per-run", test_ansi_one_escape_per_run);
  g_test_add_func ("/html/span/color", test_span_color);
  g_test_add_func ("/html/plain/strips-tags", test_plain_strips_tags);
  g_test_add_func ("/html/entities/after-tags", test_entities_after_tags);
  g_test_add_func ("/html/br", test_br);
  g_test_add_func ("/html/lone-less-than", test_lone_less_than);
  g_test_add_func ("/html/fast-path", test_fast_path);
  g_test_add_func ("/html/binary-safe", test_binary_safe);
  g_test_add_func ("/html/color/names", test_color_names);
  g_test_add_func ("/html/color/hex", test_color_hex);
  g_test_add_func ("/html/color/rgb", test_color_rgb);

  return g_test_run ();
}

/* glib-timers.c: the plain C GLib reference for the timer benchmarks.
 *
 *   glib-timers chain [N]   N g_timeout_add (0, ...) callbacks, each adding
 *                           the next one (default 200000)
 *   glib-timers burst [N]   N timers added at once with random delays of
 *                           0-100 ms, each callback counting (default 200000)
 *
 * Prints one line "RESULT key=value ..." that run.sh parses; times come from
 * g_get_monotonic_time (). Build:
 *   cc -O2 glib-timers.c -o glib-timers $(pkg-config --cflags --libs glib-2.0)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

static GMainLoop *loop;
static guint      total;
static guint      count;
static gint64     start;

static gboolean
chain_cb (gpointer data)
{
  if (++count < total)
    {
      g_timeout_add (0, chain_cb, NULL);
    }
  else
    {
      double us = (double) (g_get_monotonic_time () - start);

      printf ("RESULT bench=chain impl=glib hops=%u total_ms=%.3f us_per_hop=%.4f\n",
              total, us / 1000.0, us / total);
      g_main_loop_quit (loop);
    }
  return G_SOURCE_REMOVE;
}

static gboolean
burst_cb (gpointer data)
{
  if (++count == total)
    {
      double us = (double) (g_get_monotonic_time () - start);

      printf ("RESULT bench=burst impl=glib timers=%u total_ms=%.3f\n",
              total, us / 1000.0);
      g_main_loop_quit (loop);
    }
  return G_SOURCE_REMOVE;
}

int
main (int   argc,
      char *argv[])
{
  const char *mode = argc > 1 ? argv[1] : "";

  total = argc > 2 ? (guint) strtoul (argv[2], NULL, 10) : 200000;
  if (total == 0 || (strcmp (mode, "chain") != 0 && strcmp (mode, "burst") != 0))
    {
      fprintf (stderr, "usage: %s chain|burst [N>0]\n", argv[0]);
      return 2;
    }

  loop = g_main_loop_new (NULL, FALSE);

  if (strcmp (mode, "chain") == 0)
    {
      start = g_get_monotonic_time ();
      g_timeout_add (0, chain_cb, NULL);
    }
  else
    {
      double create_ms;

      g_random_set_seed (42);
      start = g_get_monotonic_time ();
      for (guint i = 0; i < total; i++)
        g_timeout_add ((guint) g_random_int_range (0, 101), burst_cb, NULL);
      create_ms = (g_get_monotonic_time () - start) / 1000.0;
      fprintf (stderr, "glib burst: created %u timers in %.3f ms\n", total, create_ms);
    }

  g_main_loop_run (loop);
  g_main_loop_unref (loop);
  return 0;
}

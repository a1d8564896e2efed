/* test-utils.h: a runtime on the default main context for the GTest programs. */
#pragma once

#include <glib.h>

#include "plua-runtime.h"

typedef struct
{
  PluaConfig  *config;
  PluaRuntime *runtime;
  GString     *output;    /* every printed line, each followed by '\n' */
  gboolean     done;
  int          status;
} TestRuntime;

TestRuntime *test_runtime_new   (void);
void         test_runtime_free  (TestRuntime *t);
/* Runs code as a chunk in a coroutine; t->done/t->status tell when it ended. */
void         test_runtime_run   (TestRuntime *t, const char *code);
/* Iterates the main context until done (or Lua's `finished` global is true
 * when wait_global is set) or timeout_ms passed; FALSE on timeout. */
gboolean     test_runtime_wait  (TestRuntime *t, const char *wait_global, guint timeout_ms);
/* In a subprocess: runs code until wait_global is true (or the chunk ends
 * when NULL) and checks the runtime reported an uncaught error whose report
 * on stderr matches stderr_pattern (a g_pattern_match_simple pattern). */
void         test_runtime_assert_error_reported (const char *code,
                                                 const char *wait_global,
                                                 const char *stderr_pattern);
/* Evaluates an expression and returns tostring of it (newly allocated). */
char        *test_runtime_eval  (TestRuntime *t, const char *expression);

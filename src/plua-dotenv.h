/* plua-dotenv.h: environment lookups that also read .env files. */
#pragma once

#include <glib.h>
#include <lua.h>

G_BEGIN_DECLS

typedef struct _PluaDotenv PluaDotenv;

/* Reads ./.env, ~/.env and ~/.config/plua/.env (missing/unreadable files are skipped). */
PluaDotenv *plua_dotenv_new       (void);
/* Re-reads the files (relative to the current directory at the time of the call). */
void        plua_dotenv_reload    (PluaDotenv *self);
/* Adds <directory>/.env before ./.env (NULL removes it) and reloads. */
void        plua_dotenv_set_directory (PluaDotenv *self, const char *directory);
/* Looks name up: the process environment first, then the first file that
 * has the key, in the order above. Returns NULL when not found. */
const char *plua_dotenv_get       (PluaDotenv *self, const char *name);
void        plua_dotenv_free      (PluaDotenv *self);

/* Parses .env text into a table of key → value (exposed for tests). */
GHashTable *plua_dotenv_parse     (const char *text);

/* Replaces os.getenv(name[, default]) and adds _PY.reloadEnv(); the PluaDotenv
 * is owned by the Lua state from then on. */
int         plua_dotenv_open      (lua_State *L);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PluaDotenv, plua_dotenv_free)

G_END_DECLS

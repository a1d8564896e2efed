/* plua-net-soup.c: the net helpers that need libsoup. */
#include "config.h"

#include "plua-net-soup.h"

void
plua_net_push_headers (lua_State          *L,
                       SoupMessageHeaders *headers)
{
  SoupMessageHeadersIter iter;
  const char *name, *value;

  lua_newtable (L);
  soup_message_headers_iter_init (&iter, headers);
  while (soup_message_headers_iter_next (&iter, &name, &value))
    {
      char *lower = g_ascii_strdown (name, -1);

      if (lua_getfield (L, -1, lower) == LUA_TSTRING)
        {
          lua_pushliteral (L, ", ");
          lua_pushstring (L, value);
          lua_concat (L, 3);
        }
      else
        {
          lua_pop (L, 1);
          lua_pushstring (L, value);
        }
      lua_setfield (L, -2, lower);
      g_free (lower);
    }
}

gboolean
plua_net_accept_any_certificate (SoupMessage          *msg,
                                 GTlsCertificate      *certificate,
                                 GTlsCertificateFlags  errors,
                                 gpointer              user_data)
{
  return TRUE;
}

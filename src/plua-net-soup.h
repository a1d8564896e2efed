/* plua-net-soup.h: the net helpers that need libsoup (in the libsoup module). */
#pragma once

#include <libsoup/soup.h>
#include <lua.h>

G_BEGIN_DECLS

/* Pushes {lower-case name = value}; repeated headers are joined with ", ". */
void     plua_net_push_headers           (lua_State            *L,
                                          SoupMessageHeaders   *headers);

/* For the "insecure" options: a SoupMessage::accept-certificate handler. */
gboolean plua_net_accept_any_certificate (SoupMessage          *msg,
                                          GTlsCertificate      *certificate,
                                          GTlsCertificateFlags  errors,
                                          gpointer              user_data);

G_END_DECLS

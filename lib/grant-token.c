/* grant-token.c: one OAuth 2.0 access token
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "grant-body-private.h"
#include "grant-error.h"
#include "grant-token-private.h"
#include "grant-utils-private.h"

/**
 * GrantToken:
 *
 * One access token, as a token endpoint issued it.
 *
 * A `GrantToken` is immutable: a [class@Grant.TokenProvider] hands out a new
 * one each time it fetches. Besides the standard fields of RFC 6749,
 * section 5.1, the whole response body stays reachable through
 * [method@Grant.Token.get_response], so provider-specific fields are not
 * lost.
 *
 * To authorize a request, put the value of
 * [method@Grant.Token.dup_authorization] in its `Authorization` header.
 *
 * The access token is a secret: libgrant never logs it, and wipes its copy
 * when the token is finalized.
 */

struct _GrantToken
{
  GObject parent_instance;

  char *access_token;
  char *token_type;
  char *scope;
  GDateTime *issued_at;
  GDateTime *expires_at;
  JsonNode *response;
};

G_DEFINE_FINAL_TYPE (GrantToken, grant_token, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ACCESS_TOKEN,
  PROP_TOKEN_TYPE,
  PROP_SCOPE,
  PROP_ISSUED_AT,
  PROP_EXPIRES_AT,
  PROP_RESPONSE,
  N_PROPS,
};

static GParamSpec *properties[N_PROPS];

static void
grant_token_set_token_type (GrantToken *self,
                            const char *token_type)
{
  /* RFC 6750 token types are case-insensitive, but many APIs only accept
   * "Bearer" spelled so; servers often send "bearer". */
  if (token_type == NULL || g_ascii_strcasecmp (token_type, "bearer") == 0)
    token_type = "Bearer";

  grant_set_str (&self->token_type, token_type);
}

static void
grant_token_constructed (GObject *object)
{
  GrantToken *self = GRANT_TOKEN (object);

  G_OBJECT_CLASS (grant_token_parent_class)->constructed (object);

  if (self->token_type == NULL)
    grant_token_set_token_type (self, NULL);

  if (self->issued_at == NULL)
    self->issued_at = g_date_time_new_now_utc ();
}

static void
grant_token_finalize (GObject *object)
{
  GrantToken *self = GRANT_TOKEN (object);

  grant_secret_free (self->access_token);
  g_free (self->token_type);
  g_free (self->scope);
  g_clear_pointer (&self->issued_at, g_date_time_unref);
  g_clear_pointer (&self->expires_at, g_date_time_unref);
  g_clear_pointer (&self->response, json_node_unref);

  G_OBJECT_CLASS (grant_token_parent_class)->finalize (object);
}

static void
grant_token_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  GrantToken *self = GRANT_TOKEN (object);

  switch (prop_id)
    {
    case PROP_ACCESS_TOKEN:
      g_value_set_string (value, self->access_token);
      break;

    case PROP_TOKEN_TYPE:
      g_value_set_string (value, self->token_type);
      break;

    case PROP_SCOPE:
      g_value_set_string (value, self->scope);
      break;

    case PROP_ISSUED_AT:
      g_value_set_boxed (value, self->issued_at);
      break;

    case PROP_EXPIRES_AT:
      g_value_set_boxed (value, self->expires_at);
      break;

    case PROP_RESPONSE:
      g_value_set_boxed (value, self->response);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
grant_token_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  GrantToken *self = GRANT_TOKEN (object);

  switch (prop_id)
    {
    case PROP_ACCESS_TOKEN:
      grant_set_secret (&self->access_token, g_value_get_string (value));
      break;

    case PROP_TOKEN_TYPE:
      grant_token_set_token_type (self, g_value_get_string (value));
      break;

    case PROP_SCOPE:
      grant_set_str (&self->scope, g_value_get_string (value));
      break;

    case PROP_ISSUED_AT:
      g_clear_pointer (&self->issued_at, g_date_time_unref);
      self->issued_at = g_value_dup_boxed (value);
      break;

    case PROP_EXPIRES_AT:
      g_clear_pointer (&self->expires_at, g_date_time_unref);
      self->expires_at = g_value_dup_boxed (value);
      break;

    case PROP_RESPONSE:
      {
        JsonNode *response = g_value_get_boxed (value);

        g_clear_pointer (&self->response, json_node_unref);
        if (response != NULL)
          {
            /* Keep a sealed copy so nobody can change what the server said. */
            self->response = json_node_copy (response);
            json_node_seal (self->response);
          }
      }
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
grant_token_class_init (GrantTokenClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = grant_token_constructed;
  object_class->finalize = grant_token_finalize;
  object_class->get_property = grant_token_get_property;
  object_class->set_property = grant_token_set_property;

  /**
   * GrantToken:access-token:
   *
   * The access token itself: a secret, never logged.
   */
  properties[PROP_ACCESS_TOKEN] =
    g_param_spec_string ("access-token", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantToken:token-type:
   *
   * The token type, the scheme of the `Authorization` header.
   *
   * It is "Bearer" when the server named none, and also when it sent
   * "bearer" in another case.
   */
  properties[PROP_TOKEN_TYPE] =
    g_param_spec_string ("token-type", NULL, NULL,
                         "Bearer",
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantToken:scope:
   *
   * The space-separated scope the token grants.
   *
   * It is the scope the server named when it named one as a string, else the
   * scope that was requested, or `NULL` when none was. A scope of another
   * JSON type stays in [property@Grant.Token:response].
   */
  properties[PROP_SCOPE] =
    g_param_spec_string ("scope", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantToken:issued-at:
   *
   * When the token was received, by the local clock.
   *
   * Defaults to the time the token object was made.
   */
  properties[PROP_ISSUED_AT] =
    g_param_spec_boxed ("issued-at", NULL, NULL,
                        G_TYPE_DATE_TIME,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantToken:expires-at:
   *
   * When the token expires, or `NULL` when the server did not say.
   */
  properties[PROP_EXPIRES_AT] =
    g_param_spec_boxed ("expires-at", NULL, NULL,
                        G_TYPE_DATE_TIME,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantToken:response:
   *
   * The response body as the server sent it, or `NULL`.
   *
   * A form-encoded response appears as an object of strings. The node is
   * sealed: it cannot be changed.
   */
  properties[PROP_RESPONSE] =
    g_param_spec_boxed ("response", NULL, NULL,
                        JSON_TYPE_NODE,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
grant_token_init (GrantToken *self)
{
}

/**
 * grant_token_new:
 * @access_token: the access token
 * @token_type: (nullable): the token type, or `NULL` for "Bearer"
 * @scope: (nullable): the space-separated scope the token grants
 * @issued_at: (nullable): when the token was issued, or `NULL` for now
 * @expires_at: (nullable): when the token expires, or `NULL` if unknown
 *
 * Creates a token from its parts.
 *
 * Providers make tokens themselves; this is for token stores and tests.
 *
 * Returns: (transfer full): a new token
 */
GrantToken *
grant_token_new (const char *access_token,
                 const char *token_type,
                 const char *scope,
                 GDateTime  *issued_at,
                 GDateTime  *expires_at)
{
  g_return_val_if_fail (access_token != NULL && *access_token != '\0', NULL);

  return g_object_new (GRANT_TYPE_TOKEN,
                       "access-token", access_token,
                       "token-type", token_type,
                       "scope", scope,
                       "issued-at", issued_at,
                       "expires-at", expires_at,
                       NULL);
}

/**
 * grant_token_get_access_token:
 * @self: a token
 *
 * Gets the access token, a secret that must never be logged.
 *
 * Returns: the access token
 */
const char *
grant_token_get_access_token (GrantToken *self)
{
  g_return_val_if_fail (GRANT_IS_TOKEN (self), NULL);

  return self->access_token;
}

/**
 * grant_token_get_token_type:
 * @self: a token
 *
 * Gets the token type, such as "Bearer".
 *
 * Returns: the token type
 */
const char *
grant_token_get_token_type (GrantToken *self)
{
  g_return_val_if_fail (GRANT_IS_TOKEN (self), NULL);

  return self->token_type;
}

/**
 * grant_token_get_scope:
 * @self: a token
 *
 * Gets the space-separated scope the token grants.
 *
 * Returns: (nullable): the scope, or `NULL`
 */
const char *
grant_token_get_scope (GrantToken *self)
{
  g_return_val_if_fail (GRANT_IS_TOKEN (self), NULL);

  return self->scope;
}

/**
 * grant_token_get_issued_at:
 * @self: a token
 *
 * Gets when the token was received, by the local clock.
 *
 * Returns: (transfer none): the time the token was issued
 */
GDateTime *
grant_token_get_issued_at (GrantToken *self)
{
  g_return_val_if_fail (GRANT_IS_TOKEN (self), NULL);

  return self->issued_at;
}

/**
 * grant_token_get_expires_at:
 * @self: a token
 *
 * Gets when the token expires.
 *
 * Returns: (transfer none) (nullable): the expiry, or `NULL` when the server
 *   did not name one
 */
GDateTime *
grant_token_get_expires_at (GrantToken *self)
{
  g_return_val_if_fail (GRANT_IS_TOKEN (self), NULL);

  return self->expires_at;
}

/**
 * grant_token_get_response:
 * @self: a token
 *
 * Gets the response body the token came in, as the server sent it.
 *
 * Fields that RFC 6749 does not define, such as ExpertFile's `user`, are
 * read from here.
 *
 * Returns: (transfer none) (nullable): the sealed response, or `NULL` for a
 *   token that was not parsed from a response
 */
JsonNode *
grant_token_get_response (GrantToken *self)
{
  g_return_val_if_fail (GRANT_IS_TOKEN (self), NULL);

  return self->response;
}

/**
 * grant_token_is_expired:
 * @self: a token
 * @margin: a time span in microseconds, such as `60 * G_TIME_SPAN_SECOND`
 *
 * Checks whether the token has expired, or will within @margin.
 *
 * A token without an expiry never counts as expired here; a
 * [class@Grant.TokenProvider] assumes its
 * [property@Grant.TokenProvider:default-lifetime] for such tokens.
 *
 * Returns: `TRUE` if the token expires before now plus @margin
 */
gboolean
grant_token_is_expired (GrantToken *self,
                        GTimeSpan   margin)
{
  g_return_val_if_fail (GRANT_IS_TOKEN (self), TRUE);

  if (self->expires_at == NULL)
    return FALSE;

  return g_get_real_time () + margin >= grant_date_time_to_usec (self->expires_at);
}

void
grant_token_get_times (GrantToken *token,
                       guint       default_lifetime,
                       guint       expiry_margin,
                       gint64     *expires,
                       gint64     *stale)
{
  gint64 issued, lifetime, margin;

  issued = grant_date_time_to_usec (token->issued_at);
  if (token->expires_at != NULL)
    *expires = grant_date_time_to_usec (token->expires_at);
  else
    *expires = issued + (gint64) default_lifetime * G_USEC_PER_SEC;

  lifetime = MAX (*expires - issued, 0);
  margin = MIN ((gint64) expiry_margin * G_USEC_PER_SEC, lifetime / 2);
  *stale = *expires - margin;
}

/**
 * grant_token_dup_authorization:
 * @self: a token
 *
 * Makes the value of an `Authorization` header carrying the token, such as
 * "Bearer abc".
 *
 * The value is a secret; free it with [func@GLib.free].
 *
 * Returns: (transfer full): the header value
 */
char *
grant_token_dup_authorization (GrantToken *self)
{
  g_return_val_if_fail (GRANT_IS_TOKEN (self), NULL);

  return g_strconcat (self->token_type, " ", self->access_token, NULL);
}

#define SERIALIZED_FORMAT "libgrant-token"
#define SERIALIZED_VERSION 1

static void
add_date (JsonBuilder *builder,
          const char  *name,
          GDateTime   *date)
{
  json_builder_set_member_name (builder, name);
  if (date != NULL)
    {
      g_autofree char *text = g_date_time_format_iso8601 (date);

      json_builder_add_string_value (builder, text);
    }
  else
    json_builder_add_null_value (builder);
}

/**
 * grant_token_serialize:
 * @self: a token
 *
 * Turns the token into a string, for a [iface@Grant.TokenStore] to keep;
 * [ctor@Grant.Token.new_from_serialized] turns it back.
 *
 * The string is JSON and holds the access token, so it is a secret: keep
 * it where only its owner can read it. It never holds a client secret.
 *
 * Returns: (transfer full): the serialized token
 */
char *
grant_token_serialize (GrantToken *self)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  g_return_val_if_fail (GRANT_IS_TOKEN (self), NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "format");
  json_builder_add_string_value (builder, SERIALIZED_FORMAT);
  json_builder_set_member_name (builder, "version");
  json_builder_add_int_value (builder, SERIALIZED_VERSION);
  json_builder_set_member_name (builder, "access_token");
  json_builder_add_string_value (builder, self->access_token);
  json_builder_set_member_name (builder, "token_type");
  json_builder_add_string_value (builder, self->token_type);
  json_builder_set_member_name (builder, "scope");
  if (self->scope != NULL)
    json_builder_add_string_value (builder, self->scope);
  else
    json_builder_add_null_value (builder);
  add_date (builder, "issued_at", self->issued_at);
  add_date (builder, "expires_at", self->expires_at);
  json_builder_set_member_name (builder, "response");
  if (self->response != NULL)
    json_builder_add_value (builder, json_node_copy (self->response));
  else
    json_builder_add_null_value (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);

  return json_to_string (root, FALSE);
}

static gboolean
read_date (JsonObject  *object,
           const char  *name,
           gboolean     nullable,
           GDateTime  **date)
{
  JsonNode *node = json_object_get_member (object, name);

  *date = NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return nullable;

  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return FALSE;

  *date = g_date_time_new_from_iso8601 (json_node_get_string (node), NULL);

  return *date != NULL;
}

static const char *
read_string (JsonObject *object,
             const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

/**
 * grant_token_new_from_serialized:
 * @data: what [method@Grant.Token.serialize] returned
 * @length: the length of @data, or -1 if it is nul-terminated
 * @error: return location for a #GError
 *
 * Turns a serialized token back into a token.
 *
 * Returns: (transfer full): the token, or `NULL` with @error set to
 *   `GRANT_ERROR_INVALID_RESPONSE` when @data is not a serialized token
 */
GrantToken *
grant_token_new_from_serialized (const char  *data,
                                 gssize       length,
                                 GError     **error)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GDateTime) issued_at = NULL;
  g_autoptr(GDateTime) expires_at = NULL;
  JsonObject *object;
  JsonNode *response;
  const char *access_token;
  const char *token_type;
  JsonNode *scope;

  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  bytes = g_bytes_new (data, length < 0 ? strlen (data) : (gsize) length);
  root = grant_body_decode (NULL, bytes, NULL);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    goto bad;

  object = json_node_get_object (root);
  if (g_strcmp0 (read_string (object, "format"), SERIALIZED_FORMAT) != 0 ||
      json_object_get_int_member_with_default (object, "version", 0) != SERIALIZED_VERSION)
    goto bad;

  access_token = read_string (object, "access_token");
  token_type = read_string (object, "token_type");
  scope = json_object_get_member (object, "scope");
  response = json_object_get_member (object, "response");
  if (access_token == NULL || *access_token == '\0' || token_type == NULL ||
      (scope != NULL && !JSON_NODE_HOLDS_NULL (scope) && read_string (object, "scope") == NULL) ||
      !read_date (object, "issued_at", FALSE, &issued_at) ||
      !read_date (object, "expires_at", TRUE, &expires_at))
    goto bad;

  for (const char *p = access_token; *p; p++)
    if (*p < 0x20 || *p > 0x7e)
      goto bad;

  return g_object_new (GRANT_TYPE_TOKEN,
                       "access-token", access_token,
                       "token-type", token_type,
                       "scope", read_string (object, "scope"),
                       "issued-at", issued_at,
                       "expires-at", expires_at,
                       "response", response && !JSON_NODE_HOLDS_NULL (response) ? response : NULL,
                       NULL);

bad:
  g_set_error_literal (error, GRANT_ERROR, GRANT_ERROR_INVALID_RESPONSE,
                       "The data is not a token serialized by libgrant");
  return NULL;
}

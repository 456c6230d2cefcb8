/* grant-dialect.c: how one kind of token endpoint speaks
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "grant-dialect.h"
#include "grant-dialect-private.h"
#include "grant-enum-types.h"
#include "grant-error.h"
#include "grant-json-pointer-private.h"
#include "grant-resources.h"
#include "grant-request-private.h"
#include "grant-token-private.h"
#include "grant-utils-private.h"

/**
 * GrantDialect:
 *
 * How one kind of token endpoint speaks: where it is, how a request is
 * encoded, and where its answer keeps the token, the expiry and the errors.
 *
 * Token endpoints disagree. RFC 6749 asks for a form body and answers
 * `{"access_token": ..., "expires_in": ...}`, but some services want JSON,
 * nest the token under other names or give an absolute expiry. A dialect
 * describes such a service as data; the standard RFC 6749 mapping is what
 * [ctor@Grant.Dialect.new] returns.
 *
 * Dialects usually come from provider files, read by
 * [ctor@Grant.Dialect.new_for_preset]. A provider file is a key file named
 * `NAME.provider`:
 *
 * ```ini
 * [Provider]
 * Name=ExpertFile
 * TokenUrl=https://public-api.expertfile.com/v2/oauth/token
 * RequestFormat=form
 * AuthMethod=client_secret_post
 * DefaultLifetime=2592000
 *
 * [Response]
 * AccessToken=/data/accessToken
 * ExpiresAt=/data/accessTokenExpiresAt
 * Scope=/data/scope
 * Success=/success
 * ```
 *
 * The `[Provider]` group may hold `Name`, `Description`, `Documentation`,
 * `TokenUrl`, `TokenUrlHint` (what to set the URL to when it differs per
 * customer), `RequestFormat` (`form` or `json`), `AuthMethod` (a
 * [enum@Grant.AuthMethod] by its RFC 8414 name, such as
 * `client_secret_post` or `private_key_jwt`, or `auto`), `Scope`,
 * `DefaultLifetime` (seconds), `Issuer`, `AssertionAudience` (the `aud` of
 * JWT client assertions) and `SigningAlgorithm` (their JWS algorithm). The
 * `[Response]` group holds RFC 6901
 * JSON Pointers into the answer: `AccessToken`, `TokenType`, `ExpiresIn`
 * (seconds from now), `ExpiresAt` (an ISO 8601 date or seconds since the
 * epoch), `Scope`, `Success` (a boolean that must not be false), `Error`
 * and `ErrorDescription`. A key left out keeps its RFC 6749 default; a key
 * left empty turns the field off. The optional `[Parameters]` group lists
 * extra request parameters, such as `audience`.
 *
 * `TokenUrl`, `Issuer` and `AssertionAudience` may hold `{NAME}`
 * variables, such as Entra ID's `{tenant}`, filled by
 * [ctor@Grant.Dialect.new_for_preset_with_variables]; the optional
 * `[Variables]` group declares them with their defaults (an empty value:
 * none).
 *
 * Built-in presets are `auth0`, `entra`, `expertfile`, `json-body`,
 * `keycloak`, `officernd`, `okta`, `okta-org`, `rfc6749` and
 * `smartdocumentor`. More are read from `grant/providers/` in each of the
 * system data directories (`$XDG_DATA_DIRS`) and in the user data directory
 * (`$XDG_DATA_HOME`); a user file overrides a system file, which overrides a
 * built-in preset of the same name.
 *
 * A dialect is immutable.
 */

typedef enum {
  POINTER_ACCESS_TOKEN,
  POINTER_TOKEN_TYPE,
  POINTER_EXPIRES_IN,
  POINTER_EXPIRES_AT,
  POINTER_SCOPE,
  POINTER_SUCCESS,
  POINTER_ERROR,
  POINTER_ERROR_DESCRIPTION,
  N_POINTERS,
} PointerField;

struct _GrantDialect
{
  GObject parent_instance;

  char *name;
  char *display_name;
  char *description;
  char *documentation_url;
  char *token_url;
  char *token_url_hint;
  GrantRequestFormat request_format;
  GrantAuthMethod auth_method;
  char *scope;
  guint default_lifetime;
  char **parameters;
  char *issuer;
  char *assertion_audience;
  char *signing_algorithm;
  char **variables;
  char *pointers[N_POINTERS];
};

G_DEFINE_FINAL_TYPE (GrantDialect, grant_dialect, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_NAME,
  PROP_DISPLAY_NAME,
  PROP_DESCRIPTION,
  PROP_DOCUMENTATION_URL,
  PROP_TOKEN_URL,
  PROP_TOKEN_URL_HINT,
  PROP_REQUEST_FORMAT,
  PROP_AUTH_METHOD,
  PROP_SCOPE,
  PROP_DEFAULT_LIFETIME,
  PROP_PARAMETERS,
  PROP_ISSUER,
  PROP_ASSERTION_AUDIENCE,
  PROP_SIGNING_ALGORITHM,
  PROP_VARIABLES,
  PROP_ACCESS_TOKEN_POINTER,
  PROP_TOKEN_TYPE_POINTER,
  PROP_EXPIRES_IN_POINTER,
  PROP_EXPIRES_AT_POINTER,
  PROP_SCOPE_POINTER,
  PROP_SUCCESS_POINTER,
  PROP_ERROR_POINTER,
  PROP_ERROR_DESCRIPTION_POINTER,
  N_PROPS,
};

static GParamSpec *properties[N_PROPS];

#define DEFAULT_LIFETIME 600
#define PRESETS_RESOURCE_PATH "/org/libgrant/presets/"
#define PRESET_SUFFIX ".provider"

/* The RFC 6749 mapping, and the key of each field in a provider file. */
static const struct {
  const char *key;
  const char *default_pointer;
  guint prop_id;
} pointer_fields[N_POINTERS] = {
  [POINTER_ACCESS_TOKEN] = { "AccessToken", "/access_token", PROP_ACCESS_TOKEN_POINTER },
  [POINTER_TOKEN_TYPE] = { "TokenType", "/token_type", PROP_TOKEN_TYPE_POINTER },
  [POINTER_EXPIRES_IN] = { "ExpiresIn", "/expires_in", PROP_EXPIRES_IN_POINTER },
  [POINTER_EXPIRES_AT] = { "ExpiresAt", NULL, PROP_EXPIRES_AT_POINTER },
  [POINTER_SCOPE] = { "Scope", "/scope", PROP_SCOPE_POINTER },
  [POINTER_SUCCESS] = { "Success", NULL, PROP_SUCCESS_POINTER },
  [POINTER_ERROR] = { "Error", "/error", PROP_ERROR_POINTER },
  [POINTER_ERROR_DESCRIPTION] = { "ErrorDescription", "/error_description", PROP_ERROR_DESCRIPTION_POINTER },
};

static PointerField
pointer_field_for_prop (guint prop_id)
{
  return (PointerField) (prop_id - PROP_ACCESS_TOKEN_POINTER);
}

static void
grant_dialect_finalize (GObject *object)
{
  GrantDialect *self = GRANT_DIALECT (object);

  g_free (self->name);
  g_free (self->display_name);
  g_free (self->description);
  g_free (self->documentation_url);
  g_free (self->token_url);
  g_free (self->token_url_hint);
  g_free (self->scope);
  g_strfreev (self->parameters);
  g_free (self->issuer);
  g_free (self->assertion_audience);
  g_free (self->signing_algorithm);
  g_strfreev (self->variables);
  for (guint i = 0; i < N_POINTERS; i++)
    g_free (self->pointers[i]);

  G_OBJECT_CLASS (grant_dialect_parent_class)->finalize (object);
}

static void
grant_dialect_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  GrantDialect *self = GRANT_DIALECT (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;

    case PROP_DISPLAY_NAME:
      g_value_set_string (value, self->display_name);
      break;

    case PROP_DESCRIPTION:
      g_value_set_string (value, self->description);
      break;

    case PROP_DOCUMENTATION_URL:
      g_value_set_string (value, self->documentation_url);
      break;

    case PROP_TOKEN_URL:
      g_value_set_string (value, self->token_url);
      break;

    case PROP_TOKEN_URL_HINT:
      g_value_set_string (value, self->token_url_hint);
      break;

    case PROP_REQUEST_FORMAT:
      g_value_set_enum (value, self->request_format);
      break;

    case PROP_AUTH_METHOD:
      g_value_set_enum (value, self->auth_method);
      break;

    case PROP_SCOPE:
      g_value_set_string (value, self->scope);
      break;

    case PROP_DEFAULT_LIFETIME:
      g_value_set_uint (value, self->default_lifetime);
      break;

    case PROP_PARAMETERS:
      g_value_set_boxed (value, self->parameters);
      break;

    case PROP_ISSUER:
      g_value_set_string (value, self->issuer);
      break;

    case PROP_ASSERTION_AUDIENCE:
      g_value_set_string (value, self->assertion_audience);
      break;

    case PROP_SIGNING_ALGORITHM:
      g_value_set_string (value, self->signing_algorithm);
      break;

    case PROP_VARIABLES:
      g_value_set_boxed (value, self->variables);
      break;

    case PROP_ACCESS_TOKEN_POINTER:
    case PROP_TOKEN_TYPE_POINTER:
    case PROP_EXPIRES_IN_POINTER:
    case PROP_EXPIRES_AT_POINTER:
    case PROP_SCOPE_POINTER:
    case PROP_SUCCESS_POINTER:
    case PROP_ERROR_POINTER:
    case PROP_ERROR_DESCRIPTION_POINTER:
      g_value_set_string (value, self->pointers[pointer_field_for_prop (prop_id)]);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static gboolean
parameter_is_valid (const char *parameter)
{
  const char *equals = strchr (parameter, '=');
  g_autofree char *name = NULL;

  if (equals == NULL || equals == parameter)
    return FALSE;

  name = g_strndup (parameter, equals - parameter);

  return !grant_parameter_name_is_reserved (name);
}

/* The JWS algorithms a GrantClientKey signs with (grant-client-key.c). */
static const char * const signing_algorithms[] = {
  "RS256", "PS256", "ES256", "ES384", "ES512", "EdDSA", NULL,
};

static gboolean
signing_algorithm_is_known (const char *algorithm)
{
  return g_strv_contains (signing_algorithms, algorithm);
}

static void
grant_dialect_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  GrantDialect *self = GRANT_DIALECT (object);

  switch (prop_id)
    {
    case PROP_NAME:
      grant_set_str (&self->name, g_value_get_string (value));
      break;

    case PROP_DISPLAY_NAME:
      grant_set_str (&self->display_name, g_value_get_string (value));
      break;

    case PROP_DESCRIPTION:
      grant_set_str (&self->description, g_value_get_string (value));
      break;

    case PROP_DOCUMENTATION_URL:
      grant_set_str (&self->documentation_url, g_value_get_string (value));
      break;

    case PROP_TOKEN_URL:
      grant_set_str (&self->token_url, g_value_get_string (value));
      break;

    case PROP_TOKEN_URL_HINT:
      grant_set_str (&self->token_url_hint, g_value_get_string (value));
      break;

    case PROP_REQUEST_FORMAT:
      self->request_format = g_value_get_enum (value);
      break;

    case PROP_AUTH_METHOD:
      self->auth_method = g_value_get_enum (value);
      break;

    case PROP_SCOPE:
      grant_set_str (&self->scope, g_value_get_string (value));
      break;

    case PROP_DEFAULT_LIFETIME:
      self->default_lifetime = g_value_get_uint (value);
      break;

    case PROP_PARAMETERS:
      {
        const char * const *parameters = g_value_get_boxed (value);

        for (guint i = 0; parameters != NULL && parameters[i] != NULL; i++)
          {
            if (!parameter_is_valid (parameters[i]))
              {
                g_critical ("GrantDialect: parameter “%s” is not NAME=VALUE with a "
                            "name the request does not build itself", parameters[i]);
                return;
              }
          }
        g_strfreev (self->parameters);
        self->parameters = g_strdupv ((char **) parameters);
      }
      break;

    case PROP_ISSUER:
      grant_set_str (&self->issuer, g_value_get_string (value));
      break;

    case PROP_ASSERTION_AUDIENCE:
      grant_set_str (&self->assertion_audience, g_value_get_string (value));
      break;

    case PROP_SIGNING_ALGORITHM:
      {
        const char *algorithm = g_value_get_string (value);

        if (algorithm != NULL && !signing_algorithm_is_known (algorithm))
          {
            g_critical ("GrantDialect: “%s” is not a JWS algorithm libgrant signs with", algorithm);
            return;
          }
        grant_set_str (&self->signing_algorithm, algorithm);
      }
      break;

    case PROP_VARIABLES:
      g_strfreev (self->variables);
      self->variables = g_strdupv (g_value_get_boxed (value));
      break;

    case PROP_ACCESS_TOKEN_POINTER:
    case PROP_TOKEN_TYPE_POINTER:
    case PROP_EXPIRES_IN_POINTER:
    case PROP_EXPIRES_AT_POINTER:
    case PROP_SCOPE_POINTER:
    case PROP_SUCCESS_POINTER:
    case PROP_ERROR_POINTER:
    case PROP_ERROR_DESCRIPTION_POINTER:
      {
        const char *pointer = g_value_get_string (value);
        PointerField field = pointer_field_for_prop (prop_id);
        g_autoptr(GError) error = NULL;

        if (pointer != NULL && !grant_json_pointer_validate (pointer, &error))
          {
            g_critical ("GrantDialect:%s: %s", g_param_spec_get_name (pspec), error->message);
            return;
          }
        if (pointer == NULL && field == POINTER_ACCESS_TOKEN)
          {
            g_critical ("GrantDialect:access-token-pointer cannot be NULL");
            return;
          }
        grant_set_str (&self->pointers[field], pointer);
      }
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static GParamSpec *
pointer_pspec (const char *name,
               const char *default_pointer)
{
  return g_param_spec_string (name, NULL, NULL,
                              default_pointer,
                              G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
}

static void
grant_dialect_class_init (GrantDialectClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = grant_dialect_finalize;
  object_class->get_property = grant_dialect_get_property;
  object_class->set_property = grant_dialect_set_property;

  /**
   * GrantDialect:name:
   *
   * The preset name, such as "expertfile", or `NULL` for a dialect that was
   * not read from a provider file.
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantDialect:display-name:
   *
   * A name for people, such as "ExpertFile".
   */
  properties[PROP_DISPLAY_NAME] =
    g_param_spec_string ("display-name", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantDialect:description:
   *
   * One line about the service.
   */
  properties[PROP_DESCRIPTION] =
    g_param_spec_string ("description", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantDialect:documentation-url:
   *
   * Where the service documents its token endpoint.
   */
  properties[PROP_DOCUMENTATION_URL] =
    g_param_spec_string ("documentation-url", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantDialect:token-url:
   *
   * The token endpoint, or `NULL` when it differs per customer.
   */
  properties[PROP_TOKEN_URL] =
    g_param_spec_string ("token-url", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantDialect:token-url-hint:
   *
   * What the token URL looks like when there is no fixed one, such as
   * "https://<api_base_path>/oauth/token"; used in error messages.
   */
  properties[PROP_TOKEN_URL_HINT] =
    g_param_spec_string ("token-url-hint", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantDialect:request-format:
   *
   * How the body of a token request is encoded.
   */
  properties[PROP_REQUEST_FORMAT] =
    g_param_spec_enum ("request-format", NULL, NULL,
                       GRANT_TYPE_REQUEST_FORMAT,
                       GRANT_REQUEST_FORMAT_FORM,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantDialect:auth-method:
   *
   * How the client authenticates.
   */
  properties[PROP_AUTH_METHOD] =
    g_param_spec_enum ("auth-method", NULL, NULL,
                       GRANT_TYPE_AUTH_METHOD,
                       GRANT_AUTH_METHOD_CLIENT_SECRET_POST,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantDialect:scope:
   *
   * The scope requested unless the application sets another.
   */
  properties[PROP_SCOPE] =
    g_param_spec_string ("scope", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantDialect:default-lifetime:
   *
   * The lifetime, in seconds, assumed when an answer names no expiry.
   */
  properties[PROP_DEFAULT_LIFETIME] =
    g_param_spec_uint ("default-lifetime", NULL, NULL,
                       1, G_MAXUINT32, DEFAULT_LIFETIME,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantDialect:parameters:
   *
   * Extra request parameters, each as `NAME=VALUE`.
   */
  properties[PROP_PARAMETERS] =
    g_param_spec_boxed ("parameters", NULL, NULL,
                        G_TYPE_STRV,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantDialect:issuer:
   *
   * The authorization server's issuer identifier (RFC 8414), or `NULL`.
   *
   * A provider takes it as its default
   * [property@Grant.TokenProvider:issuer]: with a token URL too, the URL
   * is used and the issuer is not read; without one, the token endpoint is
   * found through the issuer's discovery document.
   */
  properties[PROP_ISSUER] =
    g_param_spec_string ("issuer", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantDialect:assertion-audience:
   *
   * The `aud` of JWT client assertions when the server wants another than
   * its token URL, such as Auth0's `https://TENANT.auth0.com/`, or `NULL`
   * for the token URL.
   *
   * A provider takes it as its default
   * [property@Grant.TokenProvider:assertion-audience].
   */
  properties[PROP_ASSERTION_AUDIENCE] =
    g_param_spec_string ("assertion-audience", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantDialect:signing-algorithm:
   *
   * The JWS algorithm of private_key_jwt assertions, such as `PS256` for
   * Microsoft Entra ID, or `NULL` for the client key's own
   * [property@Grant.ClientKey:algorithm].
   *
   * A provider with this dialect signs its assertions with this algorithm
   * whatever the key's `algorithm` property says, and leaves the key
   * unchanged. A key that cannot sign with it (an EC key for `PS256`) makes
   * every token request fail with `GRANT_ERROR_INVALID_CONFIGURATION`
   * before anything is sent. It does not change client_secret_jwt, which
   * is always HS256.
   */
  properties[PROP_SIGNING_ALGORITHM] =
    g_param_spec_string ("signing-algorithm", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantDialect:variables:
   *
   * The names of the variables the provider file takes, sorted, such as
   * `tenant` for Microsoft Entra ID: the `{NAME}` placeholders of its
   * `TokenUrl`, `Issuer` and `AssertionAudience`, and the keys of its
   * `[Variables]` group. `NULL` when it takes none.
   *
   * See [ctor@Grant.Dialect.new_for_preset_with_variables].
   */
  properties[PROP_VARIABLES] =
    g_param_spec_boxed ("variables", NULL, NULL,
                        G_TYPE_STRV,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * GrantDialect:access-token-pointer:
   *
   * The JSON Pointer to the access token in an answer.
   */
  properties[PROP_ACCESS_TOKEN_POINTER] = pointer_pspec ("access-token-pointer", "/access_token");

  /**
   * GrantDialect:token-type-pointer:
   *
   * The JSON Pointer to the token type, or `NULL` to always use "Bearer".
   */
  properties[PROP_TOKEN_TYPE_POINTER] = pointer_pspec ("token-type-pointer", "/token_type");

  /**
   * GrantDialect:expires-in-pointer:
   *
   * The JSON Pointer to the lifetime in seconds, or `NULL`.
   */
  properties[PROP_EXPIRES_IN_POINTER] = pointer_pspec ("expires-in-pointer", "/expires_in");

  /**
   * GrantDialect:expires-at-pointer:
   *
   * The JSON Pointer to an absolute expiry, or `NULL`.
   *
   * The value is an ISO 8601 date with a time zone, such as
   * "2024-06-24T16:10:43.457Z", or a number of seconds since the epoch.
   * It is corrected for the difference between the server's clock (its
   * `Date` header) and the local one.
   */
  properties[PROP_EXPIRES_AT_POINTER] = pointer_pspec ("expires-at-pointer", NULL);

  /**
   * GrantDialect:scope-pointer:
   *
   * The JSON Pointer to the granted scope, or `NULL`.
   */
  properties[PROP_SCOPE_POINTER] = pointer_pspec ("scope-pointer", "/scope");

  /**
   * GrantDialect:success-pointer:
   *
   * The JSON Pointer to a success flag, or `NULL`: when the answer has a
   * `false` there, it is an error.
   */
  properties[PROP_SUCCESS_POINTER] = pointer_pspec ("success-pointer", NULL);

  /**
   * GrantDialect:error-pointer:
   *
   * The JSON Pointer to an RFC 6749 error code, or `NULL`.
   */
  properties[PROP_ERROR_POINTER] = pointer_pspec ("error-pointer", "/error");

  /**
   * GrantDialect:error-description-pointer:
   *
   * The JSON Pointer to a human-readable error description, or `NULL`.
   */
  properties[PROP_ERROR_DESCRIPTION_POINTER] = pointer_pspec ("error-description-pointer",
                                                              "/error_description");

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
grant_dialect_init (GrantDialect *self)
{
  self->request_format = GRANT_REQUEST_FORMAT_FORM;
  self->auth_method = GRANT_AUTH_METHOD_CLIENT_SECRET_POST;
  self->default_lifetime = DEFAULT_LIFETIME;
  for (guint i = 0; i < N_POINTERS; i++)
    self->pointers[i] = g_strdup (pointer_fields[i].default_pointer);
}

/**
 * grant_dialect_new:
 *
 * Creates the standard dialect of RFC 6749: a form body with the client
 * credentials in it, and the answer of sections 5.1 and 5.2.
 *
 * Returns: (transfer full): a new dialect
 */
GrantDialect *
grant_dialect_new (void)
{
  return g_object_new (GRANT_TYPE_DIALECT, NULL);
}

/* Reading provider files */

static gboolean
preset_name_is_valid (const char *name)
{
  if (name == NULL || *name == '\0' || !g_ascii_isalnum (*name))
    return FALSE;

  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      return FALSE;

  return strstr (name, "..") == NULL;
}

static const char * const provider_keys[] = {
  "Name", "Description", "Documentation", "TokenUrl", "TokenUrlHint",
  "RequestFormat", "AuthMethod", "Scope", "DefaultLifetime", "Issuer",
  "AssertionAudience", "SigningAlgorithm", NULL,
};

static gboolean
check_keys (GKeyFile    *key_file,
            const char  *group,
            const char  *origin,
            GError     **error)
{
  g_auto(GStrv) keys = g_key_file_get_keys (key_file, group, NULL, NULL);

  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    {
      gboolean known = FALSE;

      if (g_strcmp0 (group, "Provider") == 0)
        known = g_strv_contains (provider_keys, keys[i]);
      else
        for (guint j = 0; j < N_POINTERS && !known; j++)
          known = g_str_equal (keys[i], pointer_fields[j].key);

      if (!known)
        {
          g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                       "%s: [%s] %s: unknown key", origin, group, keys[i]);
          return FALSE;
        }
    }

  return TRUE;
}

/* Reads an optional string; an absent key leaves *value alone. */
static gboolean
read_string (GKeyFile    *key_file,
             const char  *group,
             const char  *key,
             char       **value,
             GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  char *read;

  if (!g_key_file_has_key (key_file, group, key, NULL))
    return TRUE;

  read = g_key_file_get_string (key_file, group, key, &local_error);
  if (read == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  g_free (*value);
  *value = read;

  return TRUE;
}

static gboolean
parse_request_format (const char         *text,
                      GrantRequestFormat *format)
{
  if (g_strcmp0 (text, "form") == 0)
    *format = GRANT_REQUEST_FORMAT_FORM;
  else if (g_strcmp0 (text, "json") == 0)
    *format = GRANT_REQUEST_FORMAT_JSON;
  else
    return FALSE;

  return TRUE;
}

static gboolean
parse_auth_method (const char      *text,
                   GrantAuthMethod *method)
{
  return grant_auth_method_from_string (text, method);
}

/* The parts of a dialect, while a provider file is read. */
typedef struct {
  char *display_name;
  char *description;
  char *documentation_url;
  char *token_url;
  char *token_url_hint;
  char *request_format;
  char *auth_method;
  char *scope;
  char *default_lifetime;
  char *issuer;
  char *assertion_audience;
  char *signing_algorithm;
  char *pointers[N_POINTERS];
  GPtrArray *parameters;
} Parts;

static void
parts_clear (Parts *parts)
{
  g_free (parts->display_name);
  g_free (parts->description);
  g_free (parts->documentation_url);
  g_free (parts->token_url);
  g_free (parts->token_url_hint);
  g_free (parts->request_format);
  g_free (parts->auth_method);
  g_free (parts->scope);
  g_free (parts->default_lifetime);
  g_free (parts->issuer);
  g_free (parts->assertion_audience);
  g_free (parts->signing_algorithm);
  for (guint i = 0; i < N_POINTERS; i++)
    g_free (parts->pointers[i]);
  g_clear_pointer (&parts->parameters, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Parts, parts_clear)

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* Variables: `{NAME}` placeholders in the values that hold URLs, filled
 * from the application's NAME=VALUE list or the file's [Variables]
 * defaults. A value becomes one URL component: it cannot add a path, a
 * query, a fragment, user information or another host. */

#define MAX_VARIABLE_LENGTH 255

static gboolean
variable_name_is_valid (const char *name,
                        gsize       length)
{
  if (length == 0 || length > 64)
    return FALSE;

  for (gsize i = 0; i < length; i++)
    if (!g_ascii_isalnum (name[i]) && name[i] != '_')
      return FALSE;

  return TRUE;
}

/* Letters, digits, "-", ".", "_", "~" (RFC 3986 unreserved) and ":" (a
 * port after a host); not "." or "..", which a path would resolve. */
static gboolean
variable_value_is_safe (const char *value)
{
  gsize length = strlen (value);

  if (length == 0 || length > MAX_VARIABLE_LENGTH ||
      g_str_equal (value, ".") || g_str_equal (value, ".."))
    return FALSE;

  for (const char *p = value; *p; p++)
    if (!g_ascii_isalnum (*p) && strchr ("-._~:", *p) == NULL)
      return FALSE;

  return TRUE;
}

static void
set_unsafe_value_error (GError     **error,
                        const char  *origin,
                        const char  *where,
                        const char  *name,
                        const char  *value)
{
  g_autofree char *shown = g_strescape (value, NULL);

  g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
               "%s: %s“%s” is not a safe value for the variable “%s”: it becomes part of a "
               "URL, so it may only hold letters, digits, “-”, “.”, “_”, “~” and “:”",
               origin, where, shown, name);
}

/* Adds the variables @template names to @names; FALSE when a brace is not
 * part of a `{NAME}`. */
static gboolean
collect_placeholders (const char  *template,
                      GHashTable  *names,
                      GError     **error)
{
  for (const char *p = template; *p; p++)
    {
      const char *end;

      if (*p == '}')
        {
          g_set_error_literal (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                               "“}” closes no variable");
          return FALSE;
        }
      if (*p != '{')
        continue;

      end = strchr (p + 1, '}');
      if (end == NULL || !variable_name_is_valid (p + 1, end - p - 1))
        {
          g_set_error_literal (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                               "“{” starts no variable: write {NAME}, NAME of letters, digits and “_”");
          return FALSE;
        }
      g_hash_table_add (names, g_strndup (p + 1, end - p - 1));
      p = end;
    }

  return TRUE;
}

/* @template with its placeholders filled from @values, or NULL with
 * *@missing the first variable without a value; with @keep_missing, such
 * placeholders stay as they are instead. @template is valid. */
static char *
expand_template (const char  *template,
                 GHashTable  *values,
                 gboolean     keep_missing,
                 char       **missing)
{
  g_autoptr(GString) result = g_string_new (NULL);

  for (const char *p = template; *p; p++)
    {
      g_autofree char *name = NULL;
      const char *end;
      const char *value;

      if (*p != '{')
        {
          g_string_append_c (result, *p);
          continue;
        }

      end = strchr (p + 1, '}');
      name = g_strndup (p + 1, end - p - 1);
      value = g_hash_table_lookup (values, name);
      if (value == NULL && keep_missing)
        {
          g_string_append_len (result, p, end - p + 1);
          p = end;
          continue;
        }
      if (value == NULL)
        {
          *missing = g_steal_pointer (&name);
          return NULL;
        }
      g_string_append (result, value);
      p = end;
    }

  return g_string_free (g_steal_pointer (&result), FALSE);
}

static char *
join_names (GHashTable *names)
{
  g_autofree const char **keys = (const char **) g_hash_table_get_keys_as_array (names, NULL);

  qsort (keys, g_hash_table_size (names), sizeof (char *), compare_names);

  return g_strjoinv (", ", (char **) keys);
}

/* Reads [Variables], the placeholders of the templated [Provider] values
 * and @variables (NAME=VALUE, may be NULL), and fills the placeholders.
 * With @resolve, a variable without a value is an error; without, a value
 * that needs one is left unset (and the token URL's template becomes the
 * hint). */
static gboolean
apply_variables (GKeyFile            *key_file,
                 Parts               *parts,
                 const char          *origin,
                 const char * const  *variables,
                 gboolean             resolve,
                 GPtrArray          **names_out,
                 GError             **error)
{
  g_autoptr(GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GError) local_error = NULL;
  const struct {
    const char *key;
    char **value;
  } templated[] = {
    { "TokenUrl", &parts->token_url },
    { "Issuer", &parts->issuer },
    { "AssertionAudience", &parts->assertion_audience },
  };
  GHashTableIter iter;
  gpointer name;

  if (g_key_file_has_group (key_file, "Variables"))
    {
      g_auto(GStrv) keys = g_key_file_get_keys (key_file, "Variables", NULL, NULL);

      for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
        {
          g_autofree char *value = NULL;

          if (!variable_name_is_valid (keys[i], strlen (keys[i])))
            {
              g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                           "%s: [Variables] %s: a variable name is letters, digits and “_”",
                           origin, keys[i]);
              return FALSE;
            }
          value = g_key_file_get_string (key_file, "Variables", keys[i], &local_error);
          if (value == NULL)
            {
              g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                           "%s: [Variables] %s: %s", origin, keys[i], local_error->message);
              return FALSE;
            }
          /* An empty value declares a variable without a default. */
          if (*value != '\0')
            {
              g_autofree char *where = g_strdup_printf ("[Variables] %s: ", keys[i]);

              if (!variable_value_is_safe (value))
                {
                  set_unsafe_value_error (error, origin, where, keys[i], value);
                  return FALSE;
                }
              g_hash_table_replace (values, g_strdup (keys[i]), g_steal_pointer (&value));
            }
          g_hash_table_add (names, g_strdup (keys[i]));
        }
    }

  for (guint i = 0; i < G_N_ELEMENTS (templated); i++)
    {
      if (*templated[i].value != NULL &&
          !collect_placeholders (*templated[i].value, names, &local_error))
        {
          g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                       "%s: [Provider] %s: %s", origin, templated[i].key, local_error->message);
          return FALSE;
        }
    }

  for (guint i = 0; variables != NULL && variables[i] != NULL; i++)
    {
      const char *equals = strchr (variables[i], '=');
      g_autofree char *var_name = equals ? g_strndup (variables[i], equals - variables[i]) : NULL;

      if (var_name == NULL || !variable_name_is_valid (var_name, strlen (var_name)))
        {
          g_autofree char *shown = g_strescape (variables[i], NULL);

          g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                       "%s: “%s” is not NAME=VALUE, NAME of letters, digits and “_”",
                       origin, shown);
          return FALSE;
        }
      if (!g_hash_table_contains (names, var_name))
        {
          g_autofree char *known = join_names (names);

          if (g_hash_table_size (names) == 0)
            g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                         "%s: there is no variable “%s”: this provider takes no variables",
                         origin, var_name);
          else
            g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                         "%s: there is no variable “%s”; the variables are: %s",
                         origin, var_name, known);
          return FALSE;
        }
      if (!variable_value_is_safe (equals + 1))
        {
          set_unsafe_value_error (error, origin, "", var_name, equals + 1);
          return FALSE;
        }
      g_hash_table_replace (values, g_steal_pointer (&var_name), g_strdup (equals + 1));
    }

  for (guint i = 0; i < G_N_ELEMENTS (templated); i++)
    {
      g_autofree char *missing = NULL;
      char *expanded;

      if (*templated[i].value == NULL)
        continue;

      expanded = expand_template (*templated[i].value, values, FALSE, &missing);
      if (expanded == NULL && resolve)
        {
          g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                       "%s: the variable “%s” is not set: give it as %s=VALUE "
                       "([Provider] %s is %s)",
                       origin, missing, missing, templated[i].key, *templated[i].value);
          return FALSE;
        }
      if (expanded == NULL && templated[i].value == &parts->token_url && parts->token_url_hint == NULL)
        parts->token_url_hint = expand_template (parts->token_url, values, TRUE, NULL);
      g_free (*templated[i].value);
      *templated[i].value = expanded;
    }

  *names_out = g_ptr_array_new_with_free_func (g_free);
  g_hash_table_iter_init (&iter, names);
  while (g_hash_table_iter_next (&iter, &name, NULL))
    g_ptr_array_add (*names_out, g_strdup (name));
  g_ptr_array_sort (*names_out, compare_names);
  g_ptr_array_add (*names_out, NULL);

  return TRUE;
}

static GrantDialect *
dialect_from_key_file (GKeyFile           *key_file,
                       const char         *name,
                       const char         *origin,
                       const char * const *variables,
                       gboolean            resolve,
                       GError            **error)
{
  g_auto(Parts) parts = { 0 };
  g_autoptr(GPtrArray) variable_names = NULL;
  g_auto(GStrv) groups = NULL;
  g_autoptr(GError) local_error = NULL;
  GrantRequestFormat request_format = GRANT_REQUEST_FORMAT_FORM;
  GrantAuthMethod auth_method = GRANT_AUTH_METHOD_CLIENT_SECRET_POST;
  guint64 default_lifetime = DEFAULT_LIFETIME;
  GrantDialect *dialect;

  if (!g_key_file_has_group (key_file, "Provider"))
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "%s: no [Provider] group", origin);
      return NULL;
    }

  groups = g_key_file_get_groups (key_file, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      if (!g_str_equal (groups[i], "Provider") &&
          !g_str_equal (groups[i], "Response") &&
          !g_str_equal (groups[i], "Parameters") &&
          !g_str_equal (groups[i], "Variables"))
        {
          g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                       "%s: [%s]: unknown group (expected [Provider], [Response], "
                       "[Parameters] or [Variables])", origin, groups[i]);
          return NULL;
        }
    }

  if (!check_keys (key_file, "Provider", origin, error) ||
      (g_key_file_has_group (key_file, "Response") &&
       !check_keys (key_file, "Response", origin, error)))
    return NULL;

  if (!read_string (key_file, "Provider", "Name", &parts.display_name, &local_error) ||
      !read_string (key_file, "Provider", "Description", &parts.description, &local_error) ||
      !read_string (key_file, "Provider", "Documentation", &parts.documentation_url, &local_error) ||
      !read_string (key_file, "Provider", "TokenUrl", &parts.token_url, &local_error) ||
      !read_string (key_file, "Provider", "TokenUrlHint", &parts.token_url_hint, &local_error) ||
      !read_string (key_file, "Provider", "RequestFormat", &parts.request_format, &local_error) ||
      !read_string (key_file, "Provider", "AuthMethod", &parts.auth_method, &local_error) ||
      !read_string (key_file, "Provider", "Scope", &parts.scope, &local_error) ||
      !read_string (key_file, "Provider", "DefaultLifetime", &parts.default_lifetime, &local_error) ||
      !read_string (key_file, "Provider", "Issuer", &parts.issuer, &local_error) ||
      !read_string (key_file, "Provider", "AssertionAudience", &parts.assertion_audience, &local_error) ||
      !read_string (key_file, "Provider", "SigningAlgorithm", &parts.signing_algorithm, &local_error))
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "%s: [Provider]: %s", origin, local_error->message);
      return NULL;
    }

  /* An empty value is no value. */
  if (parts.token_url != NULL && *parts.token_url == '\0')
    g_clear_pointer (&parts.token_url, g_free);
  if (parts.issuer != NULL && *parts.issuer == '\0')
    g_clear_pointer (&parts.issuer, g_free);
  if (parts.assertion_audience != NULL && *parts.assertion_audience == '\0')
    g_clear_pointer (&parts.assertion_audience, g_free);
  if (parts.signing_algorithm != NULL && *parts.signing_algorithm == '\0')
    g_clear_pointer (&parts.signing_algorithm, g_free);

  if (!apply_variables (key_file, &parts, origin, variables, resolve, &variable_names, error))
    return NULL;

  if (parts.token_url != NULL && !grant_check_url (parts.token_url, FALSE, &local_error))
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "%s: [Provider] TokenUrl: %s", origin, local_error->message);
      return NULL;
    }

  if (parts.issuer != NULL && !grant_check_url (parts.issuer, FALSE, &local_error))
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "%s: [Provider] Issuer: %s", origin, local_error->message);
      return NULL;
    }

  if (parts.signing_algorithm != NULL && !signing_algorithm_is_known (parts.signing_algorithm))
    {
      g_autofree char *known = g_strjoinv (", ", (char **) signing_algorithms);

      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "%s: [Provider] SigningAlgorithm: “%s” is not one of %s",
                   origin, parts.signing_algorithm, known);
      return NULL;
    }

  if (parts.request_format != NULL && !parse_request_format (parts.request_format, &request_format))
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "%s: [Provider] RequestFormat: “%s” is not “form” or “json”",
                   origin, parts.request_format);
      return NULL;
    }

  if (parts.auth_method != NULL && !parse_auth_method (parts.auth_method, &auth_method))
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "%s: [Provider] AuthMethod: “%s” is not “client_secret_post”, "
                   "“client_secret_basic”, “none”, “auto”, “private_key_jwt”, "
                   "“client_secret_jwt”, “tls_client_auth” or “self_signed_tls_client_auth”",
                   origin, parts.auth_method);
      return NULL;
    }

  if (parts.default_lifetime != NULL &&
      !g_ascii_string_to_unsigned (parts.default_lifetime, 10, 1, GRANT_MAX_LIFETIME,
                                   &default_lifetime, NULL))
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "%s: [Provider] DefaultLifetime: “%s” is not a number of seconds "
                   "between 1 and %" G_GINT64_FORMAT,
                   origin, parts.default_lifetime, (gint64) GRANT_MAX_LIFETIME);
      return NULL;
    }

  for (guint i = 0; i < N_POINTERS; i++)
    {
      parts.pointers[i] = g_strdup (pointer_fields[i].default_pointer);
      if (!read_string (key_file, "Response", pointer_fields[i].key, &parts.pointers[i], &local_error))
        {
          g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                       "%s: [Response] %s: %s", origin, pointer_fields[i].key, local_error->message);
          return NULL;
        }

      /* An empty value turns the field off. */
      if (parts.pointers[i] != NULL && *parts.pointers[i] == '\0')
        g_clear_pointer (&parts.pointers[i], g_free);

      if (parts.pointers[i] != NULL && !grant_json_pointer_validate (parts.pointers[i], &local_error))
        {
          g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                       "%s: [Response] %s: %s", origin, pointer_fields[i].key, local_error->message);
          return NULL;
        }
    }

  if (parts.pointers[POINTER_ACCESS_TOKEN] == NULL)
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "%s: [Response] AccessToken: cannot be empty", origin);
      return NULL;
    }

  parts.parameters = g_ptr_array_new_with_free_func (g_free);
  if (g_key_file_has_group (key_file, "Parameters"))
    {
      g_auto(GStrv) keys = g_key_file_get_keys (key_file, "Parameters", NULL, NULL);

      for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
        {
          g_autofree char *value = NULL;

          if (grant_parameter_name_is_reserved (keys[i]))
            {
              g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                           "%s: [Parameters] %s: the request sets this parameter "
                           "itself; use the [Provider] keys", origin, keys[i]);
              return NULL;
            }

          value = g_key_file_get_string (key_file, "Parameters", keys[i], &local_error);
          if (value == NULL)
            {
              g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                           "%s: [Parameters] %s: %s", origin, keys[i], local_error->message);
              return NULL;
            }
          g_ptr_array_add (parts.parameters, g_strconcat (keys[i], "=", value, NULL));
        }
    }
  g_ptr_array_add (parts.parameters, NULL);

  dialect = g_object_new (GRANT_TYPE_DIALECT,
                          "name", name,
                          "display-name", parts.display_name ? parts.display_name : name,
                          "description", parts.description,
                          "documentation-url", parts.documentation_url,
                          "token-url", parts.token_url,
                          "token-url-hint", parts.token_url_hint,
                          "request-format", request_format,
                          "auth-method", auth_method,
                          "scope", parts.scope && *parts.scope ? parts.scope : NULL,
                          "default-lifetime", (guint) default_lifetime,
                          "parameters", parts.parameters->pdata,
                          "issuer", parts.issuer,
                          "assertion-audience", parts.assertion_audience,
                          "signing-algorithm", parts.signing_algorithm,
                          "variables", variable_names->len > 1 ? variable_names->pdata : NULL,
                          NULL);

  /* The pointers may be NULL, which a property list cannot tell from
   * "not given"; set them directly. */
  for (guint i = 0; i < N_POINTERS; i++)
    {
      g_free (dialect->pointers[i]);
      dialect->pointers[i] = g_steal_pointer (&parts.pointers[i]);
    }

  return dialect;
}

static GrantDialect *dialect_from_data (const char         *name,
                                       const char         *data,
                                       gssize              length,
                                       const char * const *variables,
                                       gboolean            resolve,
                                       GError            **error);

/**
 * grant_dialect_new_from_data:
 * @name: (nullable): the preset name, also used in error messages
 * @data: the contents of a provider file
 * @length: the length of @data, or -1 if it is nul-terminated
 * @error: return location for a #GError
 *
 * Reads a dialect from the contents of a provider file.
 *
 * Returns: (transfer full): a new dialect, or `NULL` with @error set to a
 *   `GRANT_ERROR_INVALID_CONFIGURATION` that names the key or line at fault
 */
GrantDialect *
grant_dialect_new_from_data (const char  *name,
                             const char  *data,
                             gssize       length,
                             GError     **error)
{
  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return dialect_from_data (name, data, length, NULL, FALSE, error);
}

static GrantDialect *
dialect_from_data (const char         *name,
                   const char         *data,
                   gssize              length,
                   const char * const *variables,
                   gboolean            resolve,
                   GError            **error)
{
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  const char *origin = name ? name : "provider file";

  if (length < 0)
    length = strlen (data);

  if (!g_key_file_load_from_data (key_file, data, length, G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "%s: %s", origin, local_error->message);
      return NULL;
    }

  return dialect_from_key_file (key_file, name, origin, variables, resolve, error);
}

GrantDialect *
grant_dialect_new_from_data_with_variables (const char         *name,
                                            const char         *data,
                                            gssize              length,
                                            const char * const *variables,
                                            GError            **error)
{
  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return dialect_from_data (name, data, length, variables, TRUE, error);
}

static char *
preset_name_from_path (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);

  if (g_str_has_suffix (base, PRESET_SUFFIX))
    base[strlen (base) - strlen (PRESET_SUFFIX)] = '\0';

  return g_steal_pointer (&base);
}

static GrantDialect *
dialect_from_file (const char         *path,
                   const char * const *variables,
                   gboolean            resolve,
                   GError            **error)
{
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *name = NULL;

  if (!g_key_file_load_from_file (key_file, path, G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "%s: %s", path, local_error->message);
      return NULL;
    }

  name = preset_name_from_path (path);

  return dialect_from_key_file (key_file, name, path, variables, resolve, error);
}

/**
 * grant_dialect_new_from_file:
 * @path: (type filename): the path of a provider file
 * @error: return location for a #GError
 *
 * Reads a dialect from a provider file. Its name is the file name without
 * the `.provider` suffix.
 *
 * Returns: (transfer full): a new dialect, or `NULL` with @error set to a
 *   `GRANT_ERROR_INVALID_CONFIGURATION` that names the file and the key or
 *   line at fault
 */
GrantDialect *
grant_dialect_new_from_file (const char  *path,
                             GError     **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return dialect_from_file (path, NULL, FALSE, error);
}

/* The built-in presets register themselves when the library loads; asking
 * for the resource also makes sure a static link keeps them. */
static void
ensure_builtin_presets (void)
{
  (void) grant_get_resource ();
}

/* Directories searched for provider files, the most important first: the
 * user's, then the system's in order. */
static GPtrArray *
preset_directories (void)
{
  GPtrArray *dirs = g_ptr_array_new_with_free_func (g_free);
  const char * const *system_dirs = g_get_system_data_dirs ();

  g_ptr_array_add (dirs, g_build_filename (g_get_user_data_dir (), "grant", "providers", NULL));
  for (guint i = 0; system_dirs[i] != NULL; i++)
    g_ptr_array_add (dirs, g_build_filename (system_dirs[i], "grant", "providers", NULL));

  return dirs;
}

static GrantDialect *
dialect_for_preset (const char         *preset,
                    const char * const *variables,
                    gboolean            resolve,
                    GError            **error)
{
  g_autoptr(GPtrArray) dirs = NULL;
  g_autofree char *file_name = NULL;
  g_autofree char *resource_path = NULL;
  g_autoptr(GBytes) builtin = NULL;

  if (!preset_name_is_valid (preset))
    {
      g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                   "“%s” is not a valid preset name: use letters, digits, “-”, "
                   "“_” and “.”", preset);
      return NULL;
    }

  file_name = g_strconcat (preset, PRESET_SUFFIX, NULL);
  dirs = preset_directories ();
  for (guint i = 0; i < dirs->len; i++)
    {
      g_autofree char *path = g_build_filename (g_ptr_array_index (dirs, i), file_name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        {
          g_debug ("Reading preset %s from %s", preset, path);
          return dialect_from_file (path, variables, resolve, error);
        }
    }

  ensure_builtin_presets ();
  resource_path = g_strconcat (PRESETS_RESOURCE_PATH, file_name, NULL);
  builtin = g_resources_lookup_data (resource_path, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  if (builtin != NULL)
    return dialect_from_data (preset, g_bytes_get_data (builtin, NULL),
                              g_bytes_get_size (builtin), variables, resolve, error);

  {
    g_auto(GStrv) available = grant_dialect_list_presets ();
    g_autofree char *list = g_strjoinv (", ", available);

    g_set_error (error, GRANT_ERROR, GRANT_ERROR_INVALID_CONFIGURATION,
                 "No provider preset is named “%s”; the presets are: %s", preset, list);
  }

  return NULL;
}

/**
 * grant_dialect_new_for_preset:
 * @preset: a preset name, such as "expertfile"
 * @error: return location for a #GError
 *
 * Finds the provider file named @preset and reads it.
 *
 * A file `@preset.provider` in `grant/providers/` of the user data directory
 * comes first, then one in each system data directory, then the built-in
 * presets. A broken file is an error: it does not fall back to the next one.
 *
 * A preset whose URLs hold variables, such as `entra` and its `{tenant}`,
 * is read as it is: a value whose variables have no default is left unset
 * (the token URL's template becomes [property@Grant.Dialect:token-url-hint]),
 * and [property@Grant.Dialect:variables] names them. To fill them in, use
 * [ctor@Grant.Dialect.new_for_preset_with_variables].
 *
 * Returns: (transfer full): the dialect, or `NULL` with @error set to
 *   `GRANT_ERROR_INVALID_CONFIGURATION`
 */
GrantDialect *
grant_dialect_new_for_preset (const char  *preset,
                              GError     **error)
{
  g_return_val_if_fail (preset != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return dialect_for_preset (preset, NULL, FALSE, error);
}

/**
 * grant_dialect_new_for_preset_with_variables:
 * @preset: a preset name, such as "entra"
 * @variables: (nullable) (array zero-terminated=1): the preset's variables,
 *   each as `NAME=VALUE`, such as `tenant=contoso.onmicrosoft.com`
 * @error: return location for a #GError
 *
 * Finds the provider file named @preset, as
 * [ctor@Grant.Dialect.new_for_preset] does, and fills the `{NAME}`
 * placeholders of its `TokenUrl`, `Issuer` and `AssertionAudience` with
 * @variables, or with the defaults of its `[Variables]` group.
 *
 * Each value becomes part of a URL, so it may hold only letters, digits,
 * `-`, `.`, `_`, `~` and `:`: no `/`, `?`, `#`, `@`, `%` or space, so that
 * a tenant or realm name cannot send the request to another host or path.
 *
 * A variable the preset uses and @variables does not give (and that has no
 * default), a name the preset does not know, or an unsafe value is an
 * error that names it. A preset without variables reads as with
 * [ctor@Grant.Dialect.new_for_preset] when @variables is empty.
 *
 * Returns: (transfer full): the dialect, or `NULL` with @error set to
 *   `GRANT_ERROR_INVALID_CONFIGURATION`
 */
GrantDialect *
grant_dialect_new_for_preset_with_variables (const char         *preset,
                                             const char * const *variables,
                                             GError            **error)
{
  g_return_val_if_fail (preset != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return dialect_for_preset (preset, variables, TRUE, error);
}

static void
add_preset_names (GHashTable *names,
                  GStrv       entries)
{
  for (guint i = 0; entries != NULL && entries[i] != NULL; i++)
    {
      g_autofree char *name = NULL;

      if (!g_str_has_suffix (entries[i], PRESET_SUFFIX))
        continue;

      name = preset_name_from_path (entries[i]);
      if (preset_name_is_valid (name))
        g_hash_table_add (names, g_steal_pointer (&name));
    }
}

/**
 * grant_dialect_list_presets:
 *
 * Lists the presets [ctor@Grant.Dialect.new_for_preset] can find: built in,
 * and in the system and user data directories. A broken file is listed
 * too, and reading it gives the error.
 *
 * Returns: (transfer full) (array zero-terminated=1): the preset names, sorted
 */
char **
grant_dialect_list_presets (void)
{
  g_autoptr(GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) dirs = preset_directories ();
  g_auto(GStrv) builtin = NULL;
  GPtrArray *result = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer name;

  ensure_builtin_presets ();
  builtin = g_resources_enumerate_children (PRESETS_RESOURCE_PATH, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  add_preset_names (names, builtin);

  for (guint i = 0; i < dirs->len; i++)
    {
      g_autoptr(GDir) dir = g_dir_open (g_ptr_array_index (dirs, i), 0, NULL);
      g_autoptr(GPtrArray) entries = g_ptr_array_new ();
      const char *entry;

      if (dir == NULL)
        continue;

      while ((entry = g_dir_read_name (dir)) != NULL)
        g_ptr_array_add (entries, (gpointer) entry);
      g_ptr_array_add (entries, NULL);
      add_preset_names (names, (GStrv) entries->pdata);
    }

  g_hash_table_iter_init (&iter, names);
  while (g_hash_table_iter_next (&iter, &name, NULL))
    g_ptr_array_add (result, g_strdup (name));
  g_ptr_array_sort (result, compare_names);
  g_ptr_array_add (result, NULL);

  return (char **) g_ptr_array_free (result, FALSE);
}

/**
 * grant_dialect_get_name:
 * @self: a dialect
 *
 * Gets the preset name.
 *
 * Returns: (nullable): the preset name, or `NULL`
 */
const char *
grant_dialect_get_name (GrantDialect *self)
{
  g_return_val_if_fail (GRANT_IS_DIALECT (self), NULL);

  return self->name;
}

/**
 * grant_dialect_get_display_name:
 * @self: a dialect
 *
 * Gets a name for people.
 *
 * Returns: (nullable): the display name
 */
const char *
grant_dialect_get_display_name (GrantDialect *self)
{
  g_return_val_if_fail (GRANT_IS_DIALECT (self), NULL);

  return self->display_name;
}

/**
 * grant_dialect_get_description:
 * @self: a dialect
 *
 * Gets one line about the service.
 *
 * Returns: (nullable): the description
 */
const char *
grant_dialect_get_description (GrantDialect *self)
{
  g_return_val_if_fail (GRANT_IS_DIALECT (self), NULL);

  return self->description;
}

/**
 * grant_dialect_get_documentation_url:
 * @self: a dialect
 *
 * Gets where the service documents its token endpoint.
 *
 * Returns: (nullable): the documentation URL
 */
const char *
grant_dialect_get_documentation_url (GrantDialect *self)
{
  g_return_val_if_fail (GRANT_IS_DIALECT (self), NULL);

  return self->documentation_url;
}

/**
 * grant_dialect_get_token_url:
 * @self: a dialect
 *
 * Gets the token endpoint.
 *
 * Returns: (nullable): the token URL, or `NULL` when it differs per customer
 */
const char *
grant_dialect_get_token_url (GrantDialect *self)
{
  g_return_val_if_fail (GRANT_IS_DIALECT (self), NULL);

  return self->token_url;
}

/**
 * grant_dialect_get_token_url_hint:
 * @self: a dialect
 *
 * Gets what the token URL looks like when there is no fixed one.
 *
 * Returns: (nullable): the hint
 */
const char *
grant_dialect_get_token_url_hint (GrantDialect *self)
{
  g_return_val_if_fail (GRANT_IS_DIALECT (self), NULL);

  return self->token_url_hint;
}

/**
 * grant_dialect_get_request_format:
 * @self: a dialect
 *
 * Gets how the body of a token request is encoded.
 *
 * Returns: the request format
 */
GrantRequestFormat
grant_dialect_get_request_format (GrantDialect *self)
{
  g_return_val_if_fail (GRANT_IS_DIALECT (self), GRANT_REQUEST_FORMAT_FORM);

  return self->request_format;
}

/**
 * grant_dialect_get_auth_method:
 * @self: a dialect
 *
 * Gets how the client authenticates.
 *
 * Returns: the client authentication method
 */
GrantAuthMethod
grant_dialect_get_auth_method (GrantDialect *self)
{
  g_return_val_if_fail (GRANT_IS_DIALECT (self), GRANT_AUTH_METHOD_CLIENT_SECRET_POST);

  return self->auth_method;
}

/**
 * grant_dialect_get_scope:
 * @self: a dialect
 *
 * Gets the scope requested by default.
 *
 * Returns: (nullable): the scope
 */
const char *
grant_dialect_get_scope (GrantDialect *self)
{
  g_return_val_if_fail (GRANT_IS_DIALECT (self), NULL);

  return self->scope;
}

/**
 * grant_dialect_get_default_lifetime:
 * @self: a dialect
 *
 * Gets the lifetime assumed when an answer names no expiry.
 *
 * Returns: the lifetime, in seconds
 */
guint
grant_dialect_get_default_lifetime (GrantDialect *self)
{
  g_return_val_if_fail (GRANT_IS_DIALECT (self), DEFAULT_LIFETIME);

  return self->default_lifetime;
}

/**
 * grant_dialect_get_parameters:
 * @self: a dialect
 *
 * Gets the extra request parameters, each as `NAME=VALUE`.
 *
 * Returns: (transfer none) (nullable) (array zero-terminated=1): the
 *   parameters
 */
const char * const *
grant_dialect_get_parameters (GrantDialect *self)
{
  g_return_val_if_fail (GRANT_IS_DIALECT (self), NULL);

  return (const char * const *) self->parameters;
}

#define POINTER_GETTER(field_name, FIELD)                                  \
  const char *                                                            \
  grant_dialect_get_##field_name##_pointer (GrantDialect *self)          \
  {                                                                       \
    g_return_val_if_fail (GRANT_IS_DIALECT (self), NULL);                 \
                                                                          \
    return self->pointers[POINTER_##FIELD];                              \
  }

/**
 * grant_dialect_get_access_token_pointer:
 * @self: a dialect
 *
 * Gets the JSON Pointer to the access token.
 *
 * Returns: the pointer
 */
POINTER_GETTER (access_token, ACCESS_TOKEN)

/**
 * grant_dialect_get_token_type_pointer:
 * @self: a dialect
 *
 * Gets the JSON Pointer to the token type.
 *
 * Returns: (nullable): the pointer
 */
POINTER_GETTER (token_type, TOKEN_TYPE)

/**
 * grant_dialect_get_expires_in_pointer:
 * @self: a dialect
 *
 * Gets the JSON Pointer to the lifetime in seconds.
 *
 * Returns: (nullable): the pointer
 */
POINTER_GETTER (expires_in, EXPIRES_IN)

/**
 * grant_dialect_get_expires_at_pointer:
 * @self: a dialect
 *
 * Gets the JSON Pointer to the absolute expiry.
 *
 * Returns: (nullable): the pointer
 */
POINTER_GETTER (expires_at, EXPIRES_AT)

/**
 * grant_dialect_get_scope_pointer:
 * @self: a dialect
 *
 * Gets the JSON Pointer to the granted scope.
 *
 * Returns: (nullable): the pointer
 */
POINTER_GETTER (scope, SCOPE)

/**
 * grant_dialect_get_success_pointer:
 * @self: a dialect
 *
 * Gets the JSON Pointer to the success flag.
 *
 * Returns: (nullable): the pointer
 */
POINTER_GETTER (success, SUCCESS)

/**
 * grant_dialect_get_error_pointer:
 * @self: a dialect
 *
 * Gets the JSON Pointer to the error code.
 *
 * Returns: (nullable): the pointer
 */
POINTER_GETTER (error, ERROR)

/**
 * grant_dialect_get_error_description_pointer:
 * @self: a dialect
 *
 * Gets the JSON Pointer to the error description.
 *
 * Returns: (nullable): the pointer
 */
POINTER_GETTER (error_description, ERROR_DESCRIPTION)

/**
 * grant_dialect_get_issuer:
 * @self: a dialect
 *
 * Gets the authorization server's issuer identifier.
 *
 * Returns: (nullable): the issuer
 */
const char *
grant_dialect_get_issuer (GrantDialect *self)
{
  g_return_val_if_fail (GRANT_IS_DIALECT (self), NULL);

  return self->issuer;
}

/**
 * grant_dialect_get_assertion_audience:
 * @self: a dialect
 *
 * Gets the `aud` of JWT client assertions.
 *
 * Returns: (nullable): the audience, or `NULL` for the token URL
 */
const char *
grant_dialect_get_assertion_audience (GrantDialect *self)
{
  g_return_val_if_fail (GRANT_IS_DIALECT (self), NULL);

  return self->assertion_audience;
}

/**
 * grant_dialect_get_signing_algorithm:
 * @self: a dialect
 *
 * Gets the JWS algorithm of private_key_jwt assertions.
 *
 * Returns: (nullable): the algorithm, such as `PS256`, or `NULL` for the
 *   client key's own
 */
const char *
grant_dialect_get_signing_algorithm (GrantDialect *self)
{
  g_return_val_if_fail (GRANT_IS_DIALECT (self), NULL);

  return self->signing_algorithm;
}

/**
 * grant_dialect_get_variables:
 * @self: a dialect
 *
 * Gets the names of the variables the provider file takes.
 *
 * Returns: (transfer none) (nullable) (array zero-terminated=1): the
 *   variable names, sorted, or `NULL` when it takes none
 */
const char * const *
grant_dialect_get_variables (GrantDialect *self)
{
  g_return_val_if_fail (GRANT_IS_DIALECT (self), NULL);

  return (const char * const *) self->variables;
}

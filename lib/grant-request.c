/* grant-request.c: building a token request, without I/O
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "grant-request-private.h"
#include "grant-utils-private.h"

GrantParameter *
grant_parameter_new (const char *name,
                     const char *value)
{
  GrantParameter *parameter = g_new0 (GrantParameter, 1);

  parameter->name = g_strdup (name);
  parameter->value = g_strdup (value);

  return parameter;
}

void
grant_parameter_free (GrantParameter *parameter)
{
  if (parameter == NULL)
    return;

  g_free (parameter->name);
  grant_secret_free (parameter->value);
  g_free (parameter);
}

/* Names the request builds itself from properties. */
gboolean
grant_parameter_name_is_reserved (const char *name)
{
  static const char * const reserved[] = {
    "grant_type", "client_id", "client_secret", "scope",
  };

  for (guint i = 0; i < G_N_ELEMENTS (reserved); i++)
    if (g_strcmp0 (name, reserved[i]) == 0)
      return TRUE;

  return FALSE;
}

const char *
grant_auth_method_to_string (GrantAuthMethod method)
{
  switch (method)
    {
    case GRANT_AUTH_METHOD_AUTO:
      return "auto";
    case GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC:
      return "client_secret_basic";
    case GRANT_AUTH_METHOD_CLIENT_SECRET_POST:
      return "client_secret_post";
    case GRANT_AUTH_METHOD_NONE:
      return "none";
    case GRANT_AUTH_METHOD_TLS_CLIENT_AUTH:
      return "tls_client_auth";
    case GRANT_AUTH_METHOD_SELF_SIGNED_TLS_CLIENT_AUTH:
      return "self_signed_tls_client_auth";
    case GRANT_AUTH_METHOD_PRIVATE_KEY_JWT:
      return "private_key_jwt";
    case GRANT_AUTH_METHOD_CLIENT_SECRET_JWT:
      return "client_secret_jwt";
    default:
      return "unknown";
    }
}

/* The method an RFC 7591/8414 name (or "basic", "post") stands for. */
gboolean
grant_auth_method_from_string (const char      *text,
                               GrantAuthMethod *method)
{
  static const struct {
    const char *name;
    GrantAuthMethod method;
  } names[] = {
    { "basic", GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC },
    { "post", GRANT_AUTH_METHOD_CLIENT_SECRET_POST },
  };

  if (text == NULL)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_str_equal (text, names[i].name))
      {
        *method = names[i].method;
        return TRUE;
      }
  for (GrantAuthMethod m = GRANT_AUTH_METHOD_AUTO; m <= GRANT_AUTH_METHOD_LAST; m++)
    if (g_str_equal (text, grant_auth_method_to_string (m)))
      {
        *method = m;
        return TRUE;
      }

  return FALSE;
}

/* Whether @method proves the client with a TLS certificate. */
gboolean
grant_auth_method_is_mutual_tls (GrantAuthMethod method)
{
  return method == GRANT_AUTH_METHOD_TLS_CLIENT_AUTH ||
         method == GRANT_AUTH_METHOD_SELF_SIGNED_TLS_CLIENT_AUTH;
}

/* Body fields in the order they are sent. */
typedef struct {
  const char *name;
  const char *value;
} Field;

static void
wipe_and_free (gpointer data)
{
  grant_secret_free (data);
}

static GBytes *
bytes_from_secret_string (char *str)
{
  /* The body can hold the client secret: wipe it when libsoup lets go. */
  return g_bytes_new_with_free_func (str, strlen (str), wipe_and_free, str);
}

/* The body holds the secret: its buffer is sized once for the longest it
 * can be, as a GString that grew would leave copies of what it held in the
 * memory it gave back. */
static GBytes *
encode_form (const Field *fields,
             guint        n_fields)
{
  gsize size = 1;
  GString *out;

  for (guint i = 0; i < n_fields; i++)
    size += 3 * (strlen (fields[i].name) + strlen (fields[i].value)) + 2;
  out = g_string_sized_new (size);

  for (guint i = 0; i < n_fields; i++)
    {
      g_autoptr(GrantSecret) name = grant_form_encode_value (fields[i].name);
      g_autoptr(GrantSecret) value = grant_form_encode_value (fields[i].value);

      if (out->len > 0)
        g_string_append_c (out, '&');
      g_string_append (out, name);
      g_string_append_c (out, '=');
      g_string_append (out, value);
    }

  return bytes_from_secret_string (g_string_free (out, FALSE));
}

/* @value as a JSON string (RFC 8259 section 7): at most six bytes for
 * each of its own. */
static void
append_json_string (GString    *out,
                    const char *value)
{
  static const char hex[] = "0123456789abcdef";

  g_string_append_c (out, '"');
  for (const guchar *p = (const guchar *) value; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        {
          g_string_append_c (out, '\\');
          g_string_append_c (out, *p);
        }
      else if (*p < 0x20)
        {
          g_string_append (out, "\\u00");
          g_string_append_c (out, hex[*p >> 4]);
          g_string_append_c (out, hex[*p & 0xf]);
        }
      else
        g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

/* Written by hand rather than with json-glib, whose nodes and generator
 * would keep copies of the secret that are freed without being wiped. */
static GBytes *
encode_json (const Field *fields,
             guint        n_fields)
{
  gsize size = 3;
  GString *out;

  for (guint i = 0; i < n_fields; i++)
    size += 6 * (strlen (fields[i].name) + strlen (fields[i].value)) + 6;
  out = g_string_sized_new (size);

  g_string_append_c (out, '{');
  for (guint i = 0; i < n_fields; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      append_json_string (out, fields[i].name);
      g_string_append_c (out, ':');
      append_json_string (out, fields[i].value);
    }
  g_string_append_c (out, '}');

  return bytes_from_secret_string (g_string_free (out, FALSE));
}

/* RFC 6749 section 2.3.1: the client id and secret are each encoded with
 * application/x-www-form-urlencoded, then joined by ':' and base64-encoded. */
static char *
basic_authorization (const char *client_id,
                     const char *client_secret)
{
  g_autoptr(GrantSecret) id = grant_form_encode_value (client_id);
  g_autoptr(GrantSecret) secret = grant_form_encode_value (client_secret ? client_secret : "");
  g_autoptr(GrantSecret) joined = g_strconcat (id, ":", secret, NULL);
  g_autoptr(GrantSecret) encoded = g_base64_encode ((const guchar *) joined, strlen (joined));

  return g_strconcat ("Basic ", encoded, NULL);
}

/* Builds the body and headers of a client credentials token request
 * (RFC 6749 section 4.4.2). A pure function of @spec. */
GrantRequest *
grant_request_build (const GrantRequestSpec *spec)
{
  g_autoptr(GArray) fields = NULL;
  GrantRequest *request;
  Field field;

  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (spec->client_id != NULL, NULL);
  g_return_val_if_fail (spec->auth_method != GRANT_AUTH_METHOD_AUTO, NULL);

  request = g_new0 (GrantRequest, 1);
  fields = g_array_new (FALSE, FALSE, sizeof (Field));

  field = (Field) { "grant_type", "client_credentials" };
  g_array_append_val (fields, field);

  if (spec->scope != NULL && *spec->scope != '\0')
    {
      field = (Field) { "scope", spec->scope };
      g_array_append_val (fields, field);
    }

  for (guint i = 0; spec->parameters != NULL && i < spec->parameters->len; i++)
    {
      GrantParameter *parameter = g_ptr_array_index (spec->parameters, i);

      field = (Field) { parameter->name, parameter->value };
      g_array_append_val (fields, field);
    }

  switch (spec->auth_method)
    {
    case GRANT_AUTH_METHOD_CLIENT_SECRET_BASIC:
      request->authorization = basic_authorization (spec->client_id, spec->client_secret);
      break;

    case GRANT_AUTH_METHOD_CLIENT_SECRET_POST:
      field = (Field) { "client_id", spec->client_id };
      g_array_append_val (fields, field);
      field = (Field) { "client_secret", spec->client_secret ? spec->client_secret : "" };
      g_array_append_val (fields, field);
      break;

    case GRANT_AUTH_METHOD_NONE:
    case GRANT_AUTH_METHOD_TLS_CLIENT_AUTH:
    case GRANT_AUTH_METHOD_SELF_SIGNED_TLS_CLIENT_AUTH:
      /* With mutual TLS, the certificate proves the client. */
      field = (Field) { "client_id", spec->client_id };
      g_array_append_val (fields, field);
      break;

    case GRANT_AUTH_METHOD_PRIVATE_KEY_JWT:
    case GRANT_AUTH_METHOD_CLIENT_SECRET_JWT:
      g_return_val_if_fail (spec->client_assertion != NULL, (grant_request_free (request), NULL));
      field = (Field) { "client_id", spec->client_id };
      g_array_append_val (fields, field);
      field = (Field) { "client_assertion_type", GRANT_ASSERTION_TYPE };
      g_array_append_val (fields, field);
      field = (Field) { "client_assertion", spec->client_assertion };
      g_array_append_val (fields, field);
      break;

    case GRANT_AUTH_METHOD_AUTO:
    default:
      g_assert_not_reached ();
    }

  if (spec->format == GRANT_REQUEST_FORMAT_JSON)
    {
      request->content_type = g_strdup ("application/json");
      request->body = encode_json ((const Field *) (void *) fields->data, fields->len);
    }
  else
    {
      request->content_type = g_strdup ("application/x-www-form-urlencoded");
      request->body = encode_form ((const Field *) (void *) fields->data, fields->len);
    }

  return request;
}

void
grant_request_free (GrantRequest *request)
{
  if (request == NULL)
    return;

  g_free (request->content_type);
  g_clear_pointer (&request->body, g_bytes_unref);
  grant_secret_free (request->authorization);
  g_free (request);
}

/* grant-request.c: building a token request, without I/O
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>

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
    default:
      return "unknown";
    }
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

static GBytes *
encode_form (const Field *fields,
             guint        n_fields)
{
  GString *out = g_string_new (NULL);

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

static GBytes *
encode_json (const Field *fields,
             guint        n_fields)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (builder);
  for (guint i = 0; i < n_fields; i++)
    {
      json_builder_set_member_name (builder, fields[i].name);
      json_builder_add_string_value (builder, fields[i].value);
    }
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);

  return bytes_from_secret_string (json_generator_to_data (generator, NULL));
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
      field = (Field) { "client_id", spec->client_id };
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

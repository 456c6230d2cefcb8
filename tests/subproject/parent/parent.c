/* parent.c: a C program of the parent project, using libgrant
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdio.h>

#include <grant.h>

int
main (void)
{
  g_autoptr(GrantTokenProvider) provider = NULL;
  g_autoptr(GrantTokenProvider) preset = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token_url = NULL;
  g_autofree char *preset_url = NULL;

  provider = grant_token_provider_new ("https://auth.example.com/token", "parent-client", "parent-secret");
  g_object_get (provider, "token-url", &token_url, NULL);
  printf ("parent-c: %s for %s, libgrant %s\n",
          G_OBJECT_TYPE_NAME (provider), token_url, GRANT_VERSION_S);

  /* The built-in presets are a GResource: a static link must keep them. */
  preset = grant_token_provider_new_from_preset ("officernd", "parent-client", "parent-secret", &error);
  if (preset == NULL)
    {
      fprintf (stderr, "parent-c: %s\n", error->message);
      return 1;
    }
  g_object_get (preset, "token-url", &preset_url, NULL);
  printf ("parent-c: preset officernd for %s\n", preset_url);

  return 0;
}

/* parent.vala: a Vala program of the parent project, using libgrant
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

int main () {
    var provider = new Grant.TokenProvider ("https://auth.example.com/token", "parent-client", "parent-secret");
    print ("parent-vala: %s for %s\n", provider.get_type ().name (), provider.token_url);
    return 0;
}

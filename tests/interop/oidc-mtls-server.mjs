// SPDX-License-Identifier: LGPL-2.1-or-later
//
// oidc-provider over HTTPS on 127.0.0.1, asking for client certificates
// (RFC 8705), for test-interop. GRANT_INTEROP_TLS_DIR holds server.pem and
// server-key.pem (signed by ca.pem), ca.pem (the CA of the client
// certificates it trusts) and self-signed-jwks.json (the public key and
// x5t#S256 of a self-signed client certificate). Clients:
//   mtls-client         tls_client_auth, subject CN=mtls-client
//   self-signed-client  self_signed_tls_client_auth
//   bound-client        client_secret_post, certificate-bound tokens
// Prints {"issuer": ...} and serves until killed. GET
// <issuer>/test/last-token gives the x5t#S256 the last token was bound to.

import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import Provider from 'oidc-provider';

const dir = process.env.GRANT_INTEROP_TLS_DIR;
const read = (name) => fs.readFileSync(path.join(dir, name));

const server = https.createServer({
  key: read('server-key.pem'),
  cert: read('server.pem'),
  ca: read('ca.pem'),
  requestCert: true,
  rejectUnauthorized: false,
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `https://127.0.0.1:${server.address().port}`;

const clients = [
  {
    client_id: 'mtls-client',
    token_endpoint_auth_method: 'tls_client_auth',
    tls_client_auth_subject_dn: 'CN=mtls-client',
    tls_client_certificate_bound_access_tokens: true,
  },
  {
    client_id: 'self-signed-client',
    token_endpoint_auth_method: 'self_signed_tls_client_auth',
    jwks: JSON.parse(read('self-signed-jwks.json')),
    tls_client_certificate_bound_access_tokens: true,
  },
  {
    client_id: 'bound-client',
    client_secret: 'bound-secret',
    token_endpoint_auth_method: 'client_secret_post',
    tls_client_certificate_bound_access_tokens: true,
  },
].map((client) => ({
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  scope: 'read',
  ...client,
}));

const peer = (ctx) => {
  const cert = ctx.req.socket.getPeerCertificate();
  return cert && cert.raw ? new crypto.X509Certificate(cert.raw) : undefined;
};

const provider = new Provider(issuer, {
  clients,
  clientAuthMethods: ['client_secret_post', 'tls_client_auth', 'self_signed_tls_client_auth'],
  features: {
    clientCredentials: { enabled: true },
    devInteractions: { enabled: false },
    mTLS: {
      enabled: true,
      certificateBoundAccessTokens: true,
      tlsClientAuth: true,
      selfSignedTlsClientAuth: true,
      getCertificate: peer,
      certificateAuthorized: (ctx) => ctx.req.socket.authorized,
      certificateSubjectMatches: (ctx, property, expected) => property === 'tls_client_auth_subject_dn'
        && peer(ctx)?.subject === expected,
    },
  },
  scopes: ['read'],
});
provider.proxy = false;

let lastBound = null;
provider.use(async (ctx, next) => {
  if (ctx.path === '/test/last-token') {
    ctx.body = { 'x5t#S256': lastBound };
    return;
  }
  await next();
  if (ctx.path === '/token' && ctx.status === 200 && ctx.body?.access_token) {
    const token = await provider.ClientCredentials.find(ctx.body.access_token);
    lastBound = token?.['x5t#S256'] ?? null;
  }
});

server.on('request', provider.callback());
console.log(JSON.stringify({ issuer }));

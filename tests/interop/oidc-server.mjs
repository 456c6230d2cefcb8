// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Two real oidc-provider authorization servers on 127.0.0.1, for
// test-interop: the first accepts every client authentication method, the
// second only client_secret_post (so that its discovery document says so).
// Prints {"issuer": ..., "post_only_issuer": ...} and serves until killed.
// GET <issuer>/test/token-requests counts the token requests it received,
// and how many carried HTTP Basic credentials.
//
// With GRANT_INTEROP_JWKS naming a file of public JWKs ({"keys": [...]}),
// the first also has jwt-client (private_key_jwt with those keys) and
// secret-jwt-client (client_secret_jwt); it checks the assertions as real
// servers do, with a replay cache for their jti.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import Provider from 'oidc-provider';

// RFC 6749 section 2.3.1 encoding inside Basic is where clients break.
export const BASIC_SECRET = 'b:%+/ secret';

const clients = [
  {
    client_id: 'basic-client',
    client_secret: BASIC_SECRET,
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'read write',
  },
  {
    client_id: 'post-client',
    client_secret: 'post-secret',
    token_endpoint_auth_method: 'client_secret_post',
    scope: 'read',
  },
  {
    client_id: 'discovery-client',
    client_secret: 'discovery-secret',
    token_endpoint_auth_method: 'client_secret_post',
    scope: 'read',
  },
  {
    // DPoP (RFC 9449), with a nonce required.
    client_id: 'dpop-client',
    client_secret: 'dpop-secret',
    token_endpoint_auth_method: 'client_secret_post',
    dpop_bound_access_tokens: true,
    scope: 'read',
  },
  {
    client_id: 'short-client',
    client_secret: 'short-secret',
    token_endpoint_auth_method: 'client_secret_post',
    scope: 'read',
  },
];

export const JWT_SECRET = 'a client secret long enough for HS256 0123456789';

if (process.env.GRANT_INTEROP_JWKS) {
  const jwks = JSON.parse(fs.readFileSync(process.env.GRANT_INTEROP_JWKS, 'utf8'));
  clients.push({
    client_id: 'jwt-client',
    token_endpoint_auth_method: 'private_key_jwt',
    jwks,
    scope: 'read',
  });
  clients.push({
    client_id: 'secret-jwt-client',
    client_secret: JWT_SECRET,
    token_endpoint_auth_method: 'client_secret_jwt',
    token_endpoint_auth_signing_alg: 'HS256',
    scope: 'read',
  });
}

const registered = clients.map((client) => ({
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  ...client,
}));

function listen() {
  return new Promise((resolve) => {
    const server = http.createServer();
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

async function start(clientAuthMethods) {
  const server = await listen();
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: registered.filter((client) => clientAuthMethods.includes(client.token_endpoint_auth_method)),
    clientAuthMethods,
    enabledJWA: {
      clientAuthSigningAlgValues: ['HS256', 'RS256', 'PS256', 'ES256', 'EdDSA'],
      dPoPSigningAlgValues: ['ES256', 'EdDSA', 'RS256', 'PS256'],
    },
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
      dPoP: {
        enabled: true,
        nonceSecret: crypto.randomBytes(32),
        requireNonce: (ctx) => ctx.oidc?.client?.clientId === 'dpop-client',
      },
    },
    scopes: ['read', 'write'],
    ttl: {
      // short-client gets three-second tokens, for the refresh test.
      ClientCredentials: (ctx, token, client) => (client.clientId === 'short-client' ? 3 : 600),
    },
  });

  let tokenRequests = 0;
  let lastJkt = null;
  let basicRequests = 0;
  provider.use(async (ctx, next) => {
    if (ctx.path === '/test/token-requests') {
      ctx.body = { count: tokenRequests, basic: basicRequests, dpop_jkt: lastJkt };
      return;
    }
    if (ctx.path === '/token' && ctx.method === 'POST') {
      tokenRequests++;
      if (/^basic /i.test(ctx.get('authorization'))) basicRequests++;
    }
    await next();
    if (ctx.path === '/token' && ctx.status === 200 && ctx.body?.access_token) {
      const token = await provider.ClientCredentials.find(ctx.body.access_token);
      lastJkt = token?.jkt ?? null;
    }
  });

  server.on('request', provider.callback());
  return issuer;
}

const issuer = await start(['client_secret_basic', 'client_secret_post',
  'private_key_jwt', 'client_secret_jwt']);
const postOnlyIssuer = await start(['client_secret_post']);
console.log(JSON.stringify({ issuer, post_only_issuer: postOnlyIssuer }));

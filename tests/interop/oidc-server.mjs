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
//
// <issuer>/test/resource is a resource server for DPoP-bound tokens
// (RFC 9449 section 7): it verifies the proof (signature with its jwk,
// typ, htm, htu without query, iat within a minute, jti never seen, ath,
// its own nonce, which it asks for with use_dpop_nonce) and the binding
// (the jwk's thumbprint is the token's cnf.jkt). GET
// <issuer>/test/token-requests also counts the requests that reached it.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import Provider from 'oidc-provider';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify } from 'jose';

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
  let resourceRequests = 0;
  let resourceNonce = crypto.randomBytes(16).toString('base64url');
  const seenJti = new Set();

  async function resource(ctx) {
    resourceRequests++;
    const refuse = (error, withNonce) => {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', `DPoP error="${error}"`);
      if (withNonce) ctx.set('DPoP-Nonce', resourceNonce);
      ctx.body = { error };
    };
    const authorization = ctx.get('authorization');
    const proof = ctx.get('dpop');
    if (!/^DPoP /.test(authorization) || !proof) return refuse('invalid_token', false);
    const accessToken = authorization.slice(5);
    const token = await provider.ClientCredentials.find(accessToken);
    if (!token || !token.jkt) return refuse('invalid_token', false);
    let verified;
    try {
      verified = await jwtVerify(proof, EmbeddedJWK, {
        typ: 'dpop+jwt', algorithms: ['ES256', 'EdDSA', 'RS256', 'PS256'],
      });
    } catch {
      return refuse('invalid_dpop_proof', false);
    }
    const { payload, protectedHeader } = verified;
    const expected = new URL(ctx.href);
    expected.search = '';
    expected.hash = '';
    const ath = crypto.hash('sha256', accessToken, 'base64url');
    if (payload.htm !== ctx.method || payload.htu !== expected.href
        || Math.abs(Date.now() / 1000 - payload.iat) > 60 || payload.ath !== ath
        || typeof payload.jti !== 'string' || seenJti.has(payload.jti)
        || await calculateJwkThumbprint(protectedHeader.jwk) !== token.jkt) {
      return refuse('invalid_dpop_proof', false);
    }
    if (payload.nonce !== resourceNonce) return refuse('use_dpop_nonce', true);
    seenJti.add(payload.jti);
    // A new nonce now and then, as servers do; this one with the answer.
    resourceNonce = crypto.randomBytes(16).toString('base64url');
    ctx.set('DPoP-Nonce', resourceNonce);
    ctx.body = { ok: true, client: token.clientId };
  }
  let basicRequests = 0;
  provider.use(async (ctx, next) => {
    if (ctx.path === '/test/token-requests') {
      ctx.body = {
        count: tokenRequests, basic: basicRequests, dpop_jkt: lastJkt, resource: resourceRequests,
      };
      return;
    }
    if (ctx.path === '/test/resource') {
      await resource(ctx);
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

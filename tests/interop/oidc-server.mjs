// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Two real oidc-provider authorization servers on 127.0.0.1, for
// test-interop: the first accepts every client authentication method, the
// second only client_secret_post (so that its discovery document says so).
// Prints {"issuer": ..., "post_only_issuer": ...} and serves until killed.
// GET <issuer>/test/token-requests counts the token requests it received,
// and how many carried HTTP Basic credentials.

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
    client_id: 'short-client',
    client_secret: 'short-secret',
    token_endpoint_auth_method: 'client_secret_post',
    scope: 'read',
  },
].map((client) => ({
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
    clients: clients.filter((client) => clientAuthMethods.includes(client.token_endpoint_auth_method)),
    clientAuthMethods,
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
    },
    scopes: ['read', 'write'],
    ttl: {
      // short-client gets three-second tokens, for the refresh test.
      ClientCredentials: (ctx, token, client) => (client.clientId === 'short-client' ? 3 : 600),
    },
  });

  let tokenRequests = 0;
  let basicRequests = 0;
  provider.use(async (ctx, next) => {
    if (ctx.path === '/test/token-requests') {
      ctx.body = { count: tokenRequests, basic: basicRequests };
      return;
    }
    if (ctx.path === '/token' && ctx.method === 'POST') {
      tokenRequests++;
      if (/^basic /i.test(ctx.get('authorization'))) basicRequests++;
    }
    await next();
  });

  server.on('request', provider.callback());
  return issuer;
}

const issuer = await start(['client_secret_basic', 'client_secret_post']);
const postOnlyIssuer = await start(['client_secret_post']);
console.log(JSON.stringify({ issuer, post_only_issuer: postOnlyIssuer }));

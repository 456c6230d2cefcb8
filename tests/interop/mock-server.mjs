// SPDX-License-Identifier: LGPL-2.1-or-later
//
// oauth2-mock-server on 127.0.0.1, for a smoke test: its /token accepts
// anything and returns a signed JWT. Prints {"issuer": ...} and serves
// until killed.

import { OAuth2Server } from 'oauth2-mock-server';

const server = new OAuth2Server();
await server.issuer.keys.generate('RS256');
await server.start(0, '127.0.0.1');
console.log(JSON.stringify({ issuer: server.issuer.url }));

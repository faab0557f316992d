// Black-box interop: a running Lanyard server driven by openid-client v6, an
// OpenID-certified relying party. Started by run.sh, which passes everything via env vars.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { promisify } from 'node:util';
import * as jose from 'jose';
import * as client from 'openid-client';

import { CookieJar, outboxCodeReader, runAuthorization, runDeviceApproval } from './lib/browser.mjs';
import { decodeJwt, verifyJwt } from './lib/jwt.mjs';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this suite through tests/interop/run.sh`);
  return value;
}

const ISSUER = required('INTEROP_ISSUER');
const CLIENT_ID = required('INTEROP_CLIENT_ID');
const CLIENT_SECRET = required('INTEROP_CLIENT_SECRET');
const REDIRECT_URI = required('INTEROP_REDIRECT_URI');
const POST_LOGOUT_REDIRECT_URI = process.env.INTEROP_POST_LOGOUT_REDIRECT_URI || '';
const FP_CLIENT_ID = process.env.INTEROP_FP_CLIENT_ID || '';
const FP_CLIENT_SECRET = process.env.INTEROP_FP_CLIENT_SECRET || '';
const EMAIL = required('INTEROP_EMAIL');
const PASSWORD = required('INTEROP_PASSWORD');
// Token exchange (RFC 8693) with personal access tokens: a public client, the API the PATs
// are for, and two `lanyard pat create --json` answers in files (never on argv).
const EXCHANGE_CLIENT_ID = process.env.INTEROP_EXCHANGE_CLIENT_ID || '';
const PAT_AUDIENCE = process.env.INTEROP_PAT_AUDIENCE || '';
const PAT_FILE = process.env.INTEROP_PAT_FILE || '';
const REVOKE_PAT_FILE = process.env.INTEROP_REVOKE_PAT_FILE || '';
const LANYARD_BIN = process.env.INTEROP_LANYARD_BIN || '';
// Device authorization grant (RFC 8628): a public client allowed openid and email.
const DEVICE_CLIENT_ID = process.env.INTEROP_DEVICE_CLIENT_ID || '';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const PAT_TOKEN_TYPE = 'urn:lanyard:token-type:pat';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';

const SCOPE = 'openid email profile';
// Sign-in codes arrive in the server's outbox folder (the embedded default mail transport).
const readCode = outboxCodeReader(`${required('LANYARD_DATA_DIR')}/outbox`);

/** openid-client Configuration for a public client (no secret: a tool or a device). */
function discoverPublic(clientId) {
  return client.discovery(new URL(ISSUER), clientId, undefined, client.None(), {
    execute: [client.allowInsecureRequests],
    timeout: 15,
  });
}

/** The `lanyard pat create --json` answer run.sh saved: { id, token, scopes, … }. */
async function readPat(file) {
  const pat = JSON.parse(await readFile(file, 'utf8'));
  assert.match(pat.token, /^lyd_pat_[0-9A-Za-z]{43}_[0-9A-Za-z]{6}$/);
  return pat;
}

/** RFC 8693 §2.1: the PAT as subject token, for the API it names. */
function exchangePat(config, token, extra = {}) {
  return client.genericGrantRequest(config, TOKEN_EXCHANGE, {
    subject_token: token,
    subject_token_type: PAT_TOKEN_TYPE,
    requested_token_type: ACCESS_TOKEN_TYPE,
    audience: PAT_AUDIENCE,
    ...extra,
  });
}

/** openid-client Configuration for a confidential client_secret_basic client. */
function discover(clientId, secret) {
  return client.discovery(new URL(ISSUER), clientId, undefined, client.ClientSecretBasic(secret), {
    execute: [client.allowInsecureRequests],
    timeout: 15,
  });
}

let rp; // Configuration for the third-party client (consent page)
let jwks;

before(async () => {
  rp = await discover(CLIENT_ID, CLIENT_SECRET);
  const res = await fetch(rp.serverMetadata().jwks_uri);
  assert.equal(res.status, 200);
  jwks = await res.json();
});

/** Authorization request with PKCE S256, state and nonce, signed in through the HTML pages. */
async function authorize(config, { jar = new CookieJar(), decision = 'allow', scope = SCOPE, extra = {} } = {}) {
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  const flow = await runAuthorization(url, {
    jar,
    redirectUri: REDIRECT_URI,
    email: EMAIL,
    password: PASSWORD,
    decision,
    readCode,
  });
  return { ...flow, codeVerifier, state, nonce, url };
}

/** authorize() followed by openid-client's code exchange with every check enabled. */
async function signIn(config = rp, options = {}) {
  const flow = await authorize(config, options);
  const tokens = await client.authorizationCodeGrant(config, flow.callbackUrl, {
    pkceCodeVerifier: flow.codeVerifier,
    expectedState: flow.state,
    expectedNonce: flow.nonce,
  });
  return { flow, tokens };
}

/** Asserts that `promise` rejects with the OAuth error code `code` (RFC 6749 §5.2 etc.). */
async function rejectsWith(promise, code, message) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.error, code, `${message}: expected OAuth error ${code}, got ${err?.name}: ${err?.message}`);
    return true;
  });
}

function nowSecs() {
  return Math.floor(Date.now() / 1000);
}

test('discovery: openid-client reads the metadata and it describes this issuer', async () => {
  const meta = rp.serverMetadata();
  assert.equal(meta.issuer, ISSUER);
  for (const [key, path] of [
    ['authorization_endpoint', '/authorize'],
    ['token_endpoint', '/token'],
    ['userinfo_endpoint', '/userinfo'],
    ['introspection_endpoint', '/introspect'],
    ['revocation_endpoint', '/revoke'],
    ['end_session_endpoint', '/logout'],
    ['jwks_uri', '/jwks'],
  ]) {
    assert.equal(meta[key], `${ISSUER}${path}`, key);
  }
  assert.ok(meta.response_types_supported.includes('code'));
  assert.ok(meta.code_challenge_methods_supported.includes('S256'));
  assert.ok(!meta.code_challenge_methods_supported.includes('plain'), 'plain PKCE must not be offered');
  assert.equal(meta.authorization_response_iss_parameter_supported, true);
  assert.ok(meta.id_token_signing_alg_values_supported.includes('RS256'));
  assert.ok(meta.token_endpoint_auth_methods_supported.includes('client_secret_basic'));
  assert.ok(meta.scopes_supported.includes('openid'));
  // The JWK Set: public keys only, each with a kid.
  assert.ok(jwks.keys.length > 0);
  for (const key of jwks.keys) {
    assert.ok(key.kid, 'every key has a kid');
    assert.equal(key.d, undefined, `private material published for ${key.kid}`);
  }
  assert.ok(jwks.keys.some((k) => k.kty === 'RSA'), 'an RSA key for RS256 ID tokens');
  assert.ok(jwks.keys.some((k) => k.kty === 'EC' && k.crv === 'P-256'), 'a P-256 key for ES256 access tokens');
});

test('authorization code + PKCE: sign-in, consent, ID token validated by openid-client', async () => {
  // The first sign-in for this client, so the user has not consented yet (keep this test
  // before the others that sign in with `rp`).
  const { flow, tokens } = await signIn(rp);
  assert.deepEqual(flow.pages, ['email', 'password', 'consent'], 'a fresh browser signs in and consents');
  assert.deepEqual(
    flow.secondStep,
    ['code', 'backup-code', 'trust'],
    'the emailed code, the first backup code, then "Trust this device?"',
  );

  // RFC 9207: the authorization response names the issuer (openid-client checked it too).
  const callback = flow.callbackUrl.searchParams;
  assert.equal(callback.get('iss'), ISSUER);
  assert.equal(callback.get('state'), flow.state);
  assert.ok(callback.get('code'));

  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.ok(tokens.expires_in > 0);
  assert.ok(tokens.id_token, 'an ID token for scope openid');
  assert.ok(tokens.refresh_token, 'a refresh token for a client allowed refresh_token');
  assert.deepEqual(new Set(tokens.scope.split(' ')), new Set(SCOPE.split(' ')));

  // openid-client validated signature, iss, aud, exp, iat and nonce; check the content.
  const claims = tokens.claims();
  assert.equal(claims.iss, ISSUER);
  assert.ok([claims.aud].flat().includes(CLIENT_ID));
  assert.equal(claims.nonce, flow.nonce);
  assert.ok(claims.sub);
  assert.equal(claims.email, EMAIL);
  assert.ok(claims.exp > nowSecs());
  assert.equal(typeof claims.auth_time, 'number');
  const idHeader = decodeJwt(tokens.id_token).header;
  assert.equal(idHeader.alg, 'RS256');

  // The access token is an RFC 9068 JWT for the same user.
  const at = await verifyJwt(tokens.access_token, jwks);
  assert.equal(at.header.typ.toLowerCase(), 'at+jwt');
  assert.equal(at.header.alg, 'ES256');
  assert.equal(at.payload.iss, ISSUER);
  assert.equal(at.payload.sub, claims.sub);
  assert.equal(at.payload.client_id, CLIENT_ID);
  assert.ok(at.payload.exp > nowSecs());
});

test('single sign-on, remembered consent and prompt=login', async () => {
  const jar = new CookieJar();
  const first = await signIn(rp, { jar });
  assert.deepEqual(first.flow.pages, ['email', 'password'], 'consent given earlier is remembered');
  const sub = first.tokens.claims().sub;
  // Same browser: the session cookie signs the user in, no page at all.
  const second = await signIn(rp, { jar });
  assert.deepEqual(second.flow.pages, []);
  assert.equal(second.tokens.claims().sub, sub);
  // prompt=login (OIDC Core §3.1.2.1): the user must authenticate again despite the session.
  await new Promise((r) => setTimeout(r, 1100));
  const third = await signIn(rp, { jar, extra: { prompt: 'login' } });
  assert.ok(third.flow.pages.includes('password'), `re-authentication (pages: ${third.flow.pages})`);
  assert.equal(third.tokens.claims().sub, sub);
  assert.ok(third.tokens.claims().auth_time > first.tokens.claims().auth_time, 'auth_time moves on');
});

test(
  'prompt=consent: the consent page is shown once and allow completes the flow',
  async () => {
    const { flow, tokens } = await signIn(rp, { extra: { prompt: 'consent' } });
    assert.deepEqual(flow.pages, ['email', 'password', 'consent']);
    assert.equal(tokens.claims().email, EMAIL);
  },
);

test('first-party client: no consent page', { skip: !FP_CLIENT_ID && 'no first-party client configured' }, async () => {
  const fp = await discover(FP_CLIENT_ID, FP_CLIENT_SECRET);
  const { flow, tokens } = await signIn(fp);
  assert.deepEqual(flow.pages, ['email', 'password']);
  const claims = tokens.claims();
  assert.ok([claims.aud].flat().includes(FP_CLIENT_ID));
  assert.equal(claims.email, EMAIL);
});

test('consent denied: access_denied reaches the client with iss and state', async () => {
  const flow = await authorize(rp, { decision: 'deny', extra: { prompt: 'consent' } });
  assert.deepEqual(flow.pages, ['email', 'password', 'consent']);
  const params = flow.callbackUrl.searchParams;
  assert.equal(params.get('error'), 'access_denied');
  assert.equal(params.get('iss'), ISSUER);
  assert.equal(params.get('state'), flow.state);
  assert.equal(params.get('code'), null);
  await rejectsWith(
    client.authorizationCodeGrant(rp, flow.callbackUrl, {
      pkceCodeVerifier: flow.codeVerifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
    }),
    'access_denied',
    'openid-client surfaces the error response',
  );
});

test('PKCE: a code redeemed with the wrong code_verifier is refused', async () => {
  const flow = await authorize(rp);
  await rejectsWith(
    client.authorizationCodeGrant(rp, flow.callbackUrl, {
      pkceCodeVerifier: client.randomPKCECodeVerifier(),
      expectedState: flow.state,
      expectedNonce: flow.nonce,
    }),
    'invalid_grant',
    'wrong code_verifier (RFC 7636 §4.6)',
  );
});

test('authorization code is single-use; a replay revokes what it produced', async () => {
  const flow = await authorize(rp);
  const checks = { pkceCodeVerifier: flow.codeVerifier, expectedState: flow.state, expectedNonce: flow.nonce };
  const tokens = await client.authorizationCodeGrant(rp, flow.callbackUrl, checks);
  assert.equal((await client.tokenIntrospection(rp, tokens.access_token)).active, true);
  await rejectsWith(client.authorizationCodeGrant(rp, flow.callbackUrl, checks), 'invalid_grant', 'code replay');
  // RFC 6749 §4.1.2: the server SHOULD revoke tokens issued from that code.
  await rejectsWith(client.refreshTokenGrant(rp, tokens.refresh_token), 'invalid_grant', 'refresh after code replay');
  assert.equal((await client.tokenIntrospection(rp, tokens.access_token)).active, false);
});

test('refresh: rotation returns a new refresh token and the old one then fails', async () => {
  const { tokens } = await signIn(rp);
  const sub = tokens.claims().sub;
  const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token);
  assert.ok(refreshed.access_token);
  assert.notEqual(refreshed.access_token, tokens.access_token);
  assert.ok(refreshed.refresh_token, 'a rotated refresh token');
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
  assert.equal(decodeJwt(refreshed.access_token).payload.sub, sub);
  if (refreshed.id_token) assert.equal(refreshed.claims().sub, sub);

  // The rotated token works...
  const again = await client.refreshTokenGrant(rp, refreshed.refresh_token);
  assert.ok(again.refresh_token);
  // ...and the original one no longer does.
  await rejectsWith(client.refreshTokenGrant(rp, tokens.refresh_token), 'invalid_grant', 'old refresh token');
});

test('refresh: reuse of a rotated-out token revokes the whole family', async () => {
  const { tokens } = await signIn(rp);
  const rotated = await client.refreshTokenGrant(rp, tokens.refresh_token);
  await rejectsWith(client.refreshTokenGrant(rp, tokens.refresh_token), 'invalid_grant', 'reused refresh token');
  // RFC 9700 §4.14.2: after reuse is detected the active token is invalid too.
  await rejectsWith(client.refreshTokenGrant(rp, rotated.refresh_token), 'invalid_grant', 'current token after reuse');
});

test('userinfo: sub matches the ID token, claims follow the scopes', async () => {
  const { tokens } = await signIn(rp);
  const sub = tokens.claims().sub;
  const info = await client.fetchUserInfo(rp, tokens.access_token, sub);
  assert.equal(info.sub, sub);
  assert.equal(info.email, EMAIL);
  assert.equal(info.name, 'Interop');
  // openid-client itself rejects a response for another subject.
  await assert.rejects(client.fetchUserInfo(rp, tokens.access_token, `${sub}-other`));
  // RFC 6750 §3.1: an invalid token is a 401 with an invalid_token challenge.
  await assert.rejects(client.fetchUserInfo(rp, `${tokens.access_token}x`, sub), (err) => {
    assert.equal(err.status, 401, `${err.name}: ${err.message}`);
    assert.ok(
      err.cause?.some?.((c) => c.scheme === 'bearer' && c.parameters?.error === 'invalid_token'),
      `WWW-Authenticate: Bearer error="invalid_token" (${JSON.stringify(err.cause)})`,
    );
    return true;
  });
});

test('client credentials: scope api yields an RFC 9068 JWT access token (typ at+jwt)', async () => {
  const tokens = await client.clientCredentialsGrant(rp, { scope: 'api' });
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.equal(tokens.scope, 'api');
  assert.equal(tokens.refresh_token, undefined, 'no refresh token for client credentials (RFC 6749 §4.4.3)');
  assert.equal(tokens.id_token, undefined);
  const { header, payload } = await verifyJwt(tokens.access_token, jwks);
  assert.equal(header.typ.toLowerCase(), 'at+jwt');
  assert.equal(header.alg, 'ES256');
  assert.equal(payload.iss, ISSUER);
  assert.equal(payload.client_id, CLIENT_ID);
  assert.equal(payload.sub, CLIENT_ID, 'RFC 9068 §2.2: sub is the client for client credentials');
  assert.ok(payload.aud, 'aud present');
  assert.ok(payload.jti, 'jti present');
  assert.equal(typeof payload.iat, 'number');
  assert.ok(payload.exp > nowSecs());
  assert.equal(payload.exp - payload.iat, tokens.expires_in);
  assert.equal(payload.scope, 'api');

  // A scope the client was not registered for is refused.
  await rejectsWith(client.clientCredentialsGrant(rp, { scope: 'admin' }), 'invalid_scope', 'unregistered scope');
});

test('introspection: active for a fresh token, inactive after revocation', async () => {
  const cc = await client.clientCredentialsGrant(rp, { scope: 'api' });
  const active = await client.tokenIntrospection(rp, cc.access_token);
  assert.equal(active.active, true);
  assert.equal(active.client_id, CLIENT_ID);
  assert.equal(active.scope, 'api');
  assert.equal(active.iss ?? ISSUER, ISSUER);
  assert.ok(active.exp > nowSecs());

  await client.tokenRevocation(rp, cc.access_token);
  const revoked = await client.tokenIntrospection(rp, cc.access_token);
  assert.equal(revoked.active, false);

  // A user's refresh token, too.
  const { tokens } = await signIn(rp);
  const rt = await client.tokenIntrospection(rp, tokens.refresh_token);
  assert.equal(rt.active, true);
  assert.equal(rt.client_id, CLIENT_ID);
  assert.equal(rt.sub, tokens.claims().sub);
  await client.tokenRevocation(rp, tokens.refresh_token);
  assert.equal((await client.tokenIntrospection(rp, tokens.refresh_token)).active, false);

  // Garbage is simply inactive (RFC 7662 §2.2).
  assert.equal((await client.tokenIntrospection(rp, 'not-a-token')).active, false);
});

test('revocation: a revoked refresh token fails with invalid_grant', async () => {
  const { tokens } = await signIn(rp);
  await client.tokenRevocation(rp, tokens.refresh_token, { token_type_hint: 'refresh_token' });
  await rejectsWith(client.refreshTokenGrant(rp, tokens.refresh_token), 'invalid_grant', 'revoked refresh token');
  // Revoking again, or revoking an unknown token, still succeeds (RFC 7009 §2.2).
  await client.tokenRevocation(rp, tokens.refresh_token);
  await client.tokenRevocation(rp, 'lyd_unknown_token');
});

test(
  'end session: buildEndSessionUrl is accepted and ends the browser session',
  { skip: !POST_LOGOUT_REDIRECT_URI && 'no post-logout redirect URI registered' },
  async () => {
    const jar = new CookieJar();
    const { tokens } = await signIn(rp, { jar });
    const state = client.randomState();

    // An unregistered post_logout_redirect_uri must not be redirected to.
    const bad = client.buildEndSessionUrl(rp, {
      id_token_hint: tokens.id_token,
      post_logout_redirect_uri: `${POST_LOGOUT_REDIRECT_URI}/elsewhere`,
    });
    const badRes = await jar.fetch(bad);
    const badPage = await badRes.text();
    assert.equal(badRes.headers.get('location'), null, 'no redirect to an unregistered URI');
    // S47: the link alone signs nobody out; the user is asked to confirm (and would then be
    // signed out without a redirect). Not confirmed here, so still signed in below.
    assert.equal(badRes.status, 200);
    assert.match(badPage, /<form/);

    const url = client.buildEndSessionUrl(rp, {
      id_token_hint: tokens.id_token,
      post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI,
      state,
    });
    assert.equal(url.origin + url.pathname, rp.serverMetadata().end_session_endpoint);
    assert.equal(url.searchParams.get('client_id'), CLIENT_ID);
    const res = await jar.fetch(url);
    await res.arrayBuffer();
    // The hint names this browser's user, so no confirmation page: straight back to the RP.
    assert.ok([302, 303].includes(res.status), `expected a redirect, got ${res.status}`);
    const back = new URL(res.headers.get('location'));
    assert.equal(back.origin + back.pathname, POST_LOGOUT_REDIRECT_URI);
    assert.equal(back.searchParams.get('state'), state);

    // The session is gone: the next authorization asks for the email again.
    const after = await authorize(rp, { jar });
    assert.equal(after.pages[0], 'email', `signed out (pages: ${after.pages})`);
  },
);

const BC_CLIENT_ID = process.env.INTEROP_BC_CLIENT_ID || '';
const BC_CLIENT_SECRET = process.env.INTEROP_BC_CLIENT_SECRET || '';
const BC_PORT = Number(process.env.INTEROP_BC_PORT || 0);

/** Listens on 127.0.0.1:`port` for the first back-channel logout POST; resolves with its
 *  content type and form body. Rejects after `ms`. */
function receiveLogoutToken(port, ms = 15000) {
  return new Promise((resolve, reject) => {
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        res.writeHead(200, { 'cache-control': 'no-store' }).end();
        clearTimeout(timer);
        server.close();
        resolve({ method: req.method, path: req.url, contentType: req.headers['content-type'], body });
      });
    });
    const timer = setTimeout(() => {
      server.close();
      reject(new Error(`no logout token within ${ms} ms`));
    }, ms);
    server.on('error', reject);
    server.listen(port, '127.0.0.1');
  });
}

test(
  'back-channel logout (OIDC Back-Channel Logout 1.0): signing out sends a logout token jose verifies',
  { skip: !(BC_CLIENT_ID && BC_PORT) && 'no back-channel client configured' },
  async () => {
    const config = await discover(BC_CLIENT_ID, BC_CLIENT_SECRET);
    const meta = config.serverMetadata();
    assert.equal(meta.backchannel_logout_supported, true);
    assert.equal(meta.backchannel_logout_session_supported, true);
    const received = receiveLogoutToken(BC_PORT);
    const jar = new CookieJar();
    const { tokens } = await signIn(config, { jar });
    const idClaims = tokens.claims();
    assert.ok(idClaims.sid, 'the ID token names its session (sid)');

    // RP-initiated logout with a verified hint: signed out at once, back to the RP.
    const res = await jar.fetch(
      client.buildEndSessionUrl(config, {
        id_token_hint: tokens.id_token,
        post_logout_redirect_uri: POST_LOGOUT_REDIRECT_URI,
      }),
    );
    await res.arrayBuffer();
    assert.ok([302, 303].includes(res.status), `expected a redirect, got ${res.status}`);

    const got = await received;
    assert.equal(got.method, 'POST');
    assert.equal(got.path, '/backchannel');
    assert.match(got.contentType, /^application\/x-www-form-urlencoded/);
    const form = new URLSearchParams(got.body);
    assert.deepEqual([...form.keys()], ['logout_token']);
    const { payload, protectedHeader } = await jose.jwtVerify(
      form.get('logout_token'),
      jose.createRemoteJWKSet(new URL(meta.jwks_uri)),
      { issuer: ISSUER, audience: BC_CLIENT_ID, typ: 'logout+jwt', maxTokenAge: '2 minutes' },
    );
    assert.equal(protectedHeader.typ, 'logout+jwt');
    assert.equal(payload.sub, idClaims.sub);
    assert.equal(payload.sid, idClaims.sid);
    assert.deepEqual(payload.events, { 'http://schemas.openid.net/event/backchannel-logout': {} });
    assert.ok(typeof payload.jti === 'string' && payload.jti.length >= 16);
    assert.ok(payload.exp > payload.iat && payload.exp - payload.iat <= 120);
    assert.equal(payload.nonce, undefined, 'a logout token carries no nonce');
  },
);

const noExchange = !(EXCHANGE_CLIENT_ID && PAT_FILE && REVOKE_PAT_FILE && LANYARD_BIN) && 'no PAT or exchange client configured';

test('token exchange (RFC 8693): a PAT becomes an RFC 9068 JWT that jose validates', { skip: noExchange }, async () => {
  const meta = rp.serverMetadata();
  assert.ok(meta.grant_types_supported.includes(TOKEN_EXCHANGE), 'discovery lists the grant');
  assert.ok(meta.token_exchange_subject_token_types_supported?.includes(PAT_TOKEN_TYPE), 'and the PAT token type');

  const tool = await discoverPublic(EXCHANGE_CLIENT_ID);
  const pat = await readPat(PAT_FILE);
  const tokens = await exchangePat(tool, pat.token);
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.equal(tokens.issued_token_type, ACCESS_TOKEN_TYPE);
  assert.equal(tokens.refresh_token, undefined, 'never a refresh token');
  assert.equal(tokens.id_token, undefined);
  assert.equal(tokens.scope, 'repo:read');

  // jose checks the signature against the published JWK Set, the header's typ, iss, aud,
  // and the time claims.
  const { payload, protectedHeader } = await jose.jwtVerify(tokens.access_token, jose.createLocalJWKSet(jwks), {
    issuer: ISSUER,
    audience: PAT_AUDIENCE,
    typ: 'at+jwt',
    requiredClaims: ['sub', 'jti', 'iat', 'exp', 'client_id', 'scope'],
  });
  assert.equal(protectedHeader.typ.toLowerCase(), 'at+jwt');
  assert.equal(payload.pat_id, pat.id);
  assert.deepEqual(payload.amr, ['pat']);
  assert.equal(payload.client_id, EXCHANGE_CLIENT_ID);
  assert.equal(payload.sub, pat.account_id);
  assert.equal(payload.scope, 'repo:read');
  assert.equal(payload.exp - payload.iat, tokens.expires_in);
  assert.equal(payload.act, undefined, 'no actor: client_id names the tool');
  // A signature made with another key does not pass.
  const [h, p, sig] = tokens.access_token.split('.');
  const flipped = `${h}.${p}.${sig.slice(0, -2)}${sig.slice(-2) === 'AA' ? 'AB' : 'AA'}`;
  await assert.rejects(jose.jwtVerify(flipped, jose.createLocalJWKSet(jwks)));

  // Scopes beyond the PAT's, or an API it is not for, are refused.
  await rejectsWith(exchangePat(tool, pat.token, { scope: 'repo:write' }), 'invalid_scope', 'wider scope');
  await rejectsWith(exchangePat(tool, pat.token, { audience: 'other.example.com' }), 'invalid_target', 'unknown API');
});

test('token exchange: a revoked PAT is refused with invalid_grant, also by a running server', { skip: noExchange }, async () => {
  // The confidential `rp` may exchange too, and introspect what it got (introspection
  // answers only the client a token was issued to).
  const pat = await readPat(REVOKE_PAT_FILE);
  const before = await exchangePat(rp, pat.token);
  assert.equal(decodeJwt(before.access_token).payload.client_id, CLIENT_ID);
  assert.equal((await client.tokenIntrospection(rp, before.access_token)).active, true);

  // The operator revokes it with the CLI (the same environment as the server: data folder
  // or database and Redis). The id is not a secret; the token never leaves its file.
  const { stdout } = await promisify(execFile)(LANYARD_BIN, ['pat', 'revoke', pat.id, '--json'], {
    env: process.env,
    timeout: 30_000,
  });
  assert.deepEqual(JSON.parse(stdout), { id: pat.id, revoked: true });

  await assert.rejects(exchangePat(rp, pat.token), (err) => {
    assert.equal(err.error, 'invalid_grant', `${err.name}: ${err.message}`);
    assert.equal(err.error_description, 'the subject token is not valid');
    assert.ok(!JSON.stringify(err.cause ?? {}).includes(pat.token), 'the refusal does not echo the PAT');
    return true;
  });
  // A token minted before the revocation is reported inactive at once.
  assert.equal((await client.tokenIntrospection(rp, before.access_token)).active, false);
  // A mistyped PAT (checksum) gets the same answer.
  const typo = pat.token.slice(0, 20) + (pat.token[20] === 'a' ? 'b' : 'a') + pat.token.slice(21);
  const tool = await discoverPublic(EXCHANGE_CLIENT_ID);
  await rejectsWith(exchangePat(tool, typo), 'invalid_grant', 'mistyped PAT');
});

const noDevice = !DEVICE_CLIENT_ID && 'no device client configured';

/** Starts a device authorization and polls with openid-client while the person decides. */
async function deviceFlow(decision) {
  const device = await discoverPublic(DEVICE_CLIENT_ID);
  assert.ok(device.serverMetadata().device_authorization_endpoint, 'discovery names the endpoint');
  const started = await client.initiateDeviceAuthorization(device, { scope: 'openid email' });
  assert.match(started.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
  assert.equal(started.verification_uri, `${ISSUER}/device`);
  assert.ok(started.verification_uri_complete.startsWith(`${ISSUER}/device?user_code=`));
  assert.ok(started.expires_in > 0 && started.interval > 0);
  // The device polls (answered authorization_pending, perhaps slow_down, which
  // openid-client handles) while the person opens the link on another device.
  const polling = client.pollDeviceAuthorizationGrant(device, started, undefined, {
    signal: AbortSignal.timeout(60_000),
  });
  polling.catch(() => {}); // awaited below; avoid an unhandled rejection meanwhile
  const approval = await runDeviceApproval(started.verification_uri_complete, {
    userCode: started.user_code,
    email: EMAIL,
    password: PASSWORD,
    readCode,
    decision,
  });
  return { device, started, polling, approval };
}

test('device authorization (RFC 8628): approved on the /device pages, polled to tokens', { skip: noDevice }, async () => {
  const { device, started, polling, approval } = await deviceFlow('approve');
  assert.deepEqual(approval.pages, ['email', 'password', 'device-code', 'device-confirm']);
  assert.equal(approval.shownCode, started.user_code, 'the confirmation page shows the code to compare');
  assert.equal(approval.outcome, 'approved');

  const tokens = await polling;
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.ok(tokens.refresh_token, 'the client may refresh');
  // openid-client validated the ID token (signature, iss, aud, exp).
  const claims = tokens.claims();
  assert.equal(claims.iss, ISSUER);
  assert.ok([claims.aud].flat().includes(DEVICE_CLIENT_ID));
  assert.equal(claims.email, EMAIL);
  const at = await verifyJwt(tokens.access_token, jwks);
  assert.equal(at.header.typ.toLowerCase(), 'at+jwt');
  assert.equal(at.payload.client_id, DEVICE_CLIENT_ID);
  assert.equal(at.payload.sub, claims.sub);
  const info = await client.fetchUserInfo(device, tokens.access_token, claims.sub);
  assert.equal(info.email, EMAIL);
  // The refresh token works like one from the code flow.
  const refreshed = await client.refreshTokenGrant(device, tokens.refresh_token);
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token);

  // The device code is spent.
  await rejectsWith(
    client.genericGrantRequest(device, DEVICE_CODE, { device_code: started.device_code }),
    'invalid_grant',
    'a redeemed device code',
  );
});

test('device authorization: denied on the confirmation page, the device hears access_denied', { skip: noDevice }, async () => {
  const { polling, approval } = await deviceFlow('deny');
  assert.equal(approval.outcome, 'denied');
  await rejectsWith(polling, 'access_denied', 'denied device request');
});

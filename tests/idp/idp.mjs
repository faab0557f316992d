// A loopback OpenID provider for Lanyard's federation tests: panva's oidc-provider (an
// OpenID-certified OP), configured here, plus a sign-in page and /__test/ control endpoints.
// Usage: node tests/idp/idp.mjs <config.json>   (see README.md)
//
// stdout carries exactly one line, {"issuer":"http://127.0.0.1:PORT"}, once the provider is
// listening; everything else goes to stderr. The process exits when stdin closes or on SIGTERM.

import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parse as parseQuery } from 'node:querystring';

// oidc-provider prints notices with console.info (stdout): keep stdout for the ready line.
const log = (...args) => console.error('idp:', ...args);
console.log = console.error;
console.info = console.error;

// Imported after the console is redirected (static imports would run first).
const { Provider } = await import('oidc-provider');
const jose = await import('jose');

const configPath = process.argv[2];
if (!configPath) {
  console.error('usage: node idp.mjs <config.json>');
  process.exit(2);
}
const config = JSON.parse(readFileSync(configPath, 'utf8'));

// ---------------------------------------------------------------------------------------
// Users and clients

/** sub → claims (sub included). */
const users = new Map();
/** client_id → the client's metadata as configured. */
const clients = new Map();

for (const user of config.users ?? []) users.set(String(user.sub), { ...user, sub: String(user.sub) });
for (const client of config.clients ?? []) clients.set(client.client_id, client);

const STANDARD_CLAIMS = {
  openid: ['sub'],
  email: ['email', 'email_verified'],
  profile: [
    'name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username',
    'profile', 'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at',
  ],
  groups: ['groups'],
};
const KNOWN = new Set(Object.values(STANDARD_CLAIMS).flat());
/** Claim names outside the standard scopes: released with `openid` (like a `tid` or `hd`). */
const extraClaims = new Set();
function noteExtraClaims(user) {
  let added = false;
  for (const name of Object.keys(user)) {
    if (!KNOWN.has(name) && !extraClaims.has(name)) {
      extraClaims.add(name);
      added = true;
    }
  }
  return added;
}
for (const user of users.values()) noteExtraClaims(user);

function clientMetadata(client) {
  const out = {
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...client,
  };
  if (!out.post_logout_redirect_uris) out.post_logout_redirect_uris = [];
  return out;
}

// ---------------------------------------------------------------------------------------
// Storage shared by every Provider instance (survives key rotation) and enumerable (the
// back-channel logout hook looks sessions up by account).

const store = new Map(); // `${model}:${id}` → { payload, expiresAt }
const sessionByUid = new Map();
const byGrant = new Map(); // grantId → Set of keys
const nowSecs = () => Math.floor(Date.now() / 1000);

function live(key) {
  const entry = store.get(key);
  if (!entry) return undefined;
  if (entry.expiresAt && entry.expiresAt <= Date.now()) {
    store.delete(key);
    return undefined;
  }
  return entry.payload;
}

class SharedAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    store.set(key, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined });
    if (this.model === 'Session') sessionByUid.set(payload.uid, id);
    if (payload.grantId) {
      if (!byGrant.has(payload.grantId)) byGrant.set(payload.grantId, new Set());
      byGrant.get(payload.grantId).add(key);
    }
  }

  async find(id) {
    return live(this.key(id));
  }

  async findByUid(uid) {
    const id = sessionByUid.get(uid);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode() {
    return undefined;
  }

  async consume(id) {
    const payload = live(this.key(id));
    if (payload) payload.consumed = nowSecs();
  }

  async destroy(id) {
    const key = this.key(id);
    const payload = store.get(key)?.payload;
    store.delete(key);
    if (payload?.uid && sessionByUid.get(payload.uid) === id) sessionByUid.delete(payload.uid);
  }

  async revokeByGrantId(grantId) {
    for (const key of byGrant.get(grantId) ?? []) store.delete(key);
    byGrant.delete(grantId);
  }
}

/** The live IdP sessions of `sub`: [{ sid by client_id, … }]. */
function sessionsOf(sub) {
  const out = [];
  for (const key of store.keys()) {
    if (!key.startsWith('Session:')) continue;
    const payload = live(key);
    if (payload?.accountId === sub) out.push(payload);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Keys

async function newSigningKey() {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const jwk = await jose.exportJWK(privateKey);
  return { ...jwk, kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

let signingJwk = await newSigningKey();
const cookieKeys = [randomBytes(32).toString('base64url')];

// ---------------------------------------------------------------------------------------
// Test hooks' state

const counts = {};
/** [{ path, mode, count, ms }] */
const faults = [];
/** { mode, count } */
let tamper = { mode: null, count: 0 };

const TAMPER_MODES = new Set([
  'bad_signature', 'wrong_audience', 'unexpected_azp', 'expired', 'wrong_nonce', 'wrong_issuer',
  'alg_none', 'hs256', 'unknown_kid',
]);

const b64 = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');

async function tamperIdToken(idToken, mode) {
  const [h, p, s] = idToken.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString());
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
  const clientId = Array.isArray(payload.aud) ? payload.aud[0] : payload.aud;
  const now = nowSecs();
  const sign = async (claims, jwk = signingJwk, hdr = header) => new jose.SignJWT(claims)
    .setProtectedHeader({ ...hdr, alg: 'RS256', kid: jwk.kid })
    .sign(await jose.importJWK(jwk, 'RS256'));

  switch (mode) {
    case 'bad_signature': {
      const sig = Buffer.from(s, 'base64url');
      sig[0] ^= 0xff;
      sig[sig.length - 1] ^= 0x01;
      return `${h}.${p}.${sig.toString('base64url')}`;
    }
    case 'wrong_audience':
      return sign({ ...payload, aud: 'someone-else' });
    case 'unexpected_azp':
      return sign({ ...payload, aud: [clientId, 'someone-else'], azp: 'someone-else' });
    case 'expired': {
      const lifetime = (payload.exp ?? now) - (payload.iat ?? now) || 3600;
      const exp = now - 3600;
      const iat = exp - lifetime;
      const out = { ...payload, iat, exp };
      if (out.auth_time !== undefined) out.auth_time = Math.min(out.auth_time, iat);
      return sign(out);
    }
    case 'wrong_nonce':
      return sign({ ...payload, nonce: 'not-the-nonce' });
    case 'wrong_issuer':
      return sign({ ...payload, iss: 'http://127.0.0.1:1' });
    case 'alg_none':
      return `${b64({ alg: 'none' })}.${p}.`;
    case 'hs256': {
      const secret = clients.get(clientId)?.client_secret;
      if (!secret) throw new Error(`hs256: no client_secret for ${clientId}`);
      return new jose.SignJWT(payload)
        .setProtectedHeader({ alg: 'HS256', kid: header.kid })
        .sign(new TextEncoder().encode(secret));
    }
    case 'unknown_kid':
      return sign(payload, await newSigningKey());
    default:
      throw new Error(`unknown tamper mode ${mode}`);
  }
}

/** Koa middleware on the provider: rewrites the token endpoint's id_token when asked. */
async function tamperMiddleware(ctx, next) {
  await next();
  if (ctx.path !== '/token' || tamper.count <= 0 || typeof ctx.body?.id_token !== 'string') return;
  const { mode } = tamper;
  tamper.count -= 1;
  ctx.body = { ...ctx.body, id_token: await tamperIdToken(ctx.body.id_token, mode) };
  log(`tampered an id_token: ${mode} (${tamper.count} left)`);
}

// Outgoing requests (back-channel logout): oidc-provider blocks special-use addresses such
// as loopback; the RP under test lives there. Each answer is recorded for the hook's reply.
const outgoing = new AsyncLocalStorage();
async function loopbackFetch(url, options) {
  const { dispatcher, ...rest } = options;
  const record = { url: String(url), body: rest.body ? String(rest.body) : undefined };
  outgoing.getStore()?.push(record);
  try {
    const response = await globalThis.fetch(url, rest);
    record.status = response.status;
    return response;
  } catch (err) {
    record.error = String(err?.cause?.message ?? err?.message ?? err);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------
// Pages

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
}[c]));

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} – Test IdP</title>
</head>
<body>
<main>
<h1>${esc(title)}</h1>
${body}
</main>
</body>
</html>
`;
}

function loginPage(uid, clientId, error) {
  const alert = error ? `<p role="alert" id="login-error">${esc(error)}</p>\n` : '';
  const described = error ? ' aria-describedby="login-error" aria-invalid="true"' : '';
  return page('Sign in', `<p>Test identity provider: sign in to continue to ${esc(clientId)}.</p>
${alert}<form method="post" action="/interaction/${esc(uid)}/login">
<label for="login">User (sub)</label>
<input type="text" id="login" name="login" autocomplete="username" required autofocus${described}>
<button type="submit">Sign in</button>
<button type="submit" name="cancel" value="1" formnovalidate>Cancel</button>
</form>`);
}

async function logoutSource(ctx, form) {
  // The provider's form holds the xsrf field; logout=yes ends the whole IdP session.
  const inner = form.replace('</form>', '<input type="hidden" name="logout" value="yes"/>'
    + '<button type="submit">Sign out</button></form>');
  ctx.type = 'html';
  ctx.body = page('Sign out', `<p>Sign out of the test identity provider?</p>\n${inner}`);
}

async function postLogoutSuccessSource(ctx) {
  ctx.type = 'html';
  ctx.body = page('Signed out', '<p>You are signed out of the test identity provider.</p>');
}

async function renderError(ctx, out) {
  ctx.type = 'html';
  const rows = Object.entries(out).map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('');
  ctx.body = page('Error', `<dl>${rows}</dl>`);
}

// ---------------------------------------------------------------------------------------
// Provider

function claimsConfig() {
  return {
    ...STANDARD_CLAIMS,
    openid: ['sub', ...extraClaims],
    sid: null,
    auth_time: null,
    acr: null,
    iss: null,
  };
}

function buildProvider(issuer) {
  const provider = new Provider(issuer, {
    adapter: SharedAdapter,
    clients: [...clients.values()].map(clientMetadata),
    async findAccount(ctx, sub) {
      if (!users.has(sub)) return undefined;
      return {
        accountId: sub,
        // Passed through as configured: email_verified may be true, false, "true" or absent.
        async claims() {
          return { ...users.get(sub) };
        },
      };
    },
    claims: claimsConfig(),
    scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
    conformIdTokenClaims: false,
    jwks: { keys: [signingJwk] },
    cookies: { keys: cookieKeys },
    pkce: { required: () => true },
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    clientBasedCORS: () => true,
    features: {
      devInteractions: { enabled: false },
      backchannelLogout: { enabled: true },
      claimsParameter: { enabled: true },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      revocation: { enabled: true },
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 600,
      IdToken: 3600,
      Interaction: 3600,
      Grant: 14 * 24 * 3600,
      Session: 14 * 24 * 3600,
      RefreshToken: 14 * 24 * 3600,
    },
    renderError,
    fetch: loopbackFetch,
  });
  // Every ID token carries `sid` (oidc-provider adds it only for clients registered with
  // backchannel_logout_session_required, or when asked for with the claims parameter).
  provider.Client.prototype.includeSid = () => true;
  provider.use(tamperMiddleware);
  provider.on('server_error', (ctx, err) => log('server_error', ctx.path, err));
  provider.on('backchannel.error', (ctx, err, client) => log('backchannel.error', client.clientId, err.message));
  return { provider, callback: provider.callback() };
}

// ---------------------------------------------------------------------------------------
// HTTP

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res, status, body, type = 'application/json') {
  const text = type === 'application/json' ? JSON.stringify(body) : body;
  res.writeHead(status, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store' });
  res.end(text);
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

function countKey(pathname) {
  if (pathname.startsWith('/interaction/')) return pathname.replace(/^\/interaction\/[^/]+/, '/interaction/:uid');
  if (pathname.startsWith('/auth/')) return '/auth/:uid';
  return pathname;
}

/** Scopes asked for that the grant may hold; claims asked for with the claims parameter. */
function grantFor(provider, accountId, params) {
  const grant = new provider.Grant({ accountId, clientId: params.client_id });
  const supported = new Set(['openid', 'offline_access', 'email', 'profile', 'groups']);
  const scope = String(params.scope ?? 'openid').split(' ').filter((s) => supported.has(s));
  grant.addOIDCScope(scope.join(' '));
  if (params.claims) {
    try {
      const requested = JSON.parse(params.claims);
      const names = new Set([
        ...Object.keys(requested.id_token ?? {}),
        ...Object.keys(requested.userinfo ?? {}),
      ]);
      if (names.size) grant.addOIDCClaims([...names]);
    } catch {
      // the provider has already validated params.claims
    }
  }
  return grant.save();
}

async function interaction(req, res, url, provider) {
  const match = url.pathname.match(/^\/interaction\/([^/]+)(\/login)?$/);
  if (!match) return send(res, 404, { error: 'not_found' });
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params, session } = details;

  if (req.method === 'GET' && !match[2]) {
    if (prompt.name === 'consent' && session?.accountId) {
      // An existing IdP session (SSO): consent is granted without a page.
      const grantId = await grantFor(provider, session.accountId, params);
      return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    }
    return send(res, 200, loginPage(uid, params.client_id), 'text/html');
  }

  if (req.method === 'POST' && match[2]) {
    const form = parseQuery(await readBody(req));
    if (form.cancel) {
      return provider.interactionFinished(req, res, {
        error: 'access_denied',
        error_description: 'The user cancelled',
      }, { mergeWithLastSubmission: false });
    }
    const sub = String(form.login ?? '').trim();
    if (!users.has(sub)) {
      return send(res, 200, loginPage(uid, params.client_id, `No user "${sub}" at this IdP.`), 'text/html');
    }
    const grantId = await grantFor(provider, sub, params);
    return provider.interactionFinished(req, res, {
      login: { accountId: sub },
      consent: { grantId },
    }, { mergeWithLastSubmission: false });
  }
  return send(res, 405, { error: 'method_not_allowed' });
}

async function control(req, res, url) {
  const { pathname } = url;
  const raw = req.method === 'POST' ? await readBody(req) : '';
  let body = {};
  if (raw.trim()) {
    try {
      body = JSON.parse(raw);
    } catch {
      return send(res, 400, { error: 'body is not JSON' });
    }
  }
  const route = `${req.method} ${pathname}`;
  switch (route) {
    case 'POST /__test/users': {
      if (body.sub === undefined || body.sub === null) return send(res, 400, { error: 'sub is required' });
      const user = { ...body, sub: String(body.sub) };
      users.set(user.sub, user);
      if (noteExtraClaims(user)) {
        // A claim name the provider does not know yet: rebuild it so the claim is released.
        current = buildProvider(issuer);
        log(`new claim names ${[...extraClaims].join(', ')}: provider rebuilt`);
      }
      return send(res, 200, { ok: true, user });
    }
    case 'POST /__test/tamper': {
      if (!TAMPER_MODES.has(body.mode)) return send(res, 400, { error: `unknown mode ${body.mode}`, modes: [...TAMPER_MODES] });
      tamper = { mode: body.mode, count: Number(body.count ?? 1) };
      return send(res, 200, { ok: true, ...tamper });
    }
    case 'POST /__test/fault': {
      if (!['hang', 'status500'].includes(body.mode) || typeof body.path !== 'string') {
        return send(res, 400, { error: 'need path and mode hang|status500' });
      }
      const fault = { path: body.path, mode: body.mode, count: Number(body.count ?? 1), ms: Number(body.ms ?? 0) };
      faults.push(fault);
      return send(res, 200, { ok: true, ...fault });
    }
    case 'POST /__test/rotate': {
      const old = signingJwk.kid;
      signingJwk = await newSigningKey();
      current = buildProvider(issuer);
      log(`signing key rotated: ${old} → ${signingJwk.kid}`);
      return send(res, 200, { ok: true, old_kid: old, kid: signingJwk.kid });
    }
    case 'GET /__test/requests':
      return send(res, 200, counts);
    case 'POST /__test/requests/reset':
      for (const key of Object.keys(counts)) delete counts[key];
      return send(res, 200, { ok: true });
    case 'POST /__test/backchannel-logout': {
      const { sub, client_id: clientId } = body;
      const { provider } = current;
      const client = await provider.Client.find(String(clientId));
      if (!client) return send(res, 404, { error: `no client ${clientId}` });
      if (!client.backchannelLogoutUri) return send(res, 400, { error: `client ${clientId} has no backchannel_logout_uri` });
      const sids = sessionsOf(String(sub))
        .map((s) => s.authorizations?.[clientId]?.sid)
        .filter(Boolean);
      const sent = [];
      for (const sid of sids.length ? sids : [undefined]) {
        const records = [];
        let error;
        await outgoing.run(records, () => client.backchannelLogout(String(sub), sid)
          .catch((err) => { error = err.message; }));
        const record = records[0] ?? {};
        const token = record.body ? new URLSearchParams(record.body).get('logout_token') : undefined;
        sent.push({
          sid: sid ?? null,
          uri: client.backchannelLogoutUri,
          logout_token: token ?? null,
          claims: token ? jose.decodeJwt(token) : null,
          status: record.status ?? null,
          error: record.error ?? error ?? null,
        });
      }
      log(`back-channel logout for ${sub} to ${clientId}: ${sent.map((s) => s.status ?? s.error).join(', ')}`);
      return send(res, 200, { sent });
    }
    default:
      return send(res, 404, { error: `no test hook ${route}` });
  }
}

let current;
let issuer;

async function handle(req, res) {
  const url = new URL(req.url, issuer);
  if (url.pathname.startsWith('/__test/')) return control(req, res, url);

  const key = countKey(url.pathname);
  counts[key] = (counts[key] ?? 0) + 1;

  const fault = faults.find((f) => f.count > 0 && (f.path === '*' || f.path === url.pathname));
  if (fault) {
    fault.count -= 1;
    if (faults.every((f) => f.count <= 0)) faults.length = 0;
    log(`fault ${fault.mode} on ${req.method} ${url.pathname}`);
    if (fault.mode === 'status500') {
      return send(res, 500, { error: 'server_error', error_description: 'injected by /__test/fault' });
    }
    await sleep(fault.ms);
  }

  const { provider, callback } = current;
  if (url.pathname.startsWith('/interaction/')) return interaction(req, res, url, provider);
  return callback(req, res);
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    log('error', req.method, req.url, err);
    if (!res.headersSent) {
      const status = err.statusCode ?? err.status ?? 500;
      send(res, status, { error: err.name ?? 'server_error', error_description: err.message });
    } else {
      res.destroy();
    }
  });
});

const port = Number(config.port ?? 0);
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', resolve);
});
issuer = `http://127.0.0.1:${server.address().port}`;
current = buildProvider(issuer);

function shutdown(why) {
  log(`stopping (${why})`);
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
process.stdin.on('end', () => shutdown('stdin closed'));
process.stdin.on('close', () => shutdown('stdin closed'));
process.stdin.on('error', () => shutdown('stdin error'));
process.stdin.resume();

process.stdout.write(`${JSON.stringify({ issuer })}\n`);
log(`listening at ${issuer} with ${clients.size} client(s), ${users.size} user(s)`);

// Headless-browser accessibility test: drives Lanyard's sign-in, second-step and security
// pages in Debian's Chromium (playwright-core) as a person would, and runs axe-core (WCAG 2.x
// A/AA) on every page it sees, in the light and the dark colour scheme. See README.md.
//
// Started by run.sh, which prepares the data dir (account + clients through the CLI) and
// passes everything in the environment; this file starts the SMTP sink and `lanyard serve`.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

import { runAxe, describeViolation, WCAG_TAGS } from './lib/axe.mjs';
import { startSmtpSink, codeIn } from './lib/smtp-sink.mjs';
import { startServer } from './lib/server.mjs';
import { base32Decode, codeAtStep, stepAt } from './lib/totp.mjs';

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (start the test with run.sh)`);
  return v;
}

const BIN = need('LANYARD_BIN');
const ISSUER = need('BROWSER_ISSUER');
const CLIENT_ID = need('BROWSER_CLIENT_ID');
const THIRD_PARTY_CLIENT_ID = need('BROWSER_THIRD_PARTY_CLIENT_ID');
const REDIRECT_URI = need('BROWSER_REDIRECT_URI');
const EMAIL = need('BROWSER_EMAIL');
const PASSWORD = need('BROWSER_PASSWORD');
const WORK_DIR = need('BROWSER_TMP');
const CHROMIUM = process.env.BROWSER_CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = process.env.BROWSER_ARTIFACTS || '';
const SERVER_LOG = process.env.BROWSER_SERVER_LOG || join(WORK_DIR, 'server.log');

const STEP_TIMEOUT = 60_000;
const ACTION_TIMEOUT = 10_000;
const NAV_TIMEOUT = 15_000;

let sink;
let server;
let context;
let page;

/** Shared across the steps, in order. */
const state = {
  backupCode: null,
  totpSecret: null,
  lastTotpStep: null,
};

/** Every page the test looked at, with its axe results. */
const visited = [];
const violations = [];
const consoleErrors = [];
/** Problems that are not axe violations and do not stop the journey (see the last test). */
const findings = [];

function finding(label, text) {
  const where = `${label} (${pathOf(page.url())})`;
  if (!findings.some((f) => f.text === text)) {
    findings.push({ where, text });
    console.log(`FINDING [${where}]: ${text}`);
  }
}
let lastDocument = { status: 0, url: '', csp: '' };
/** Every navigation to the redirect URI, in order. */
const callbacks = [];
let failedStep = null;

// ---- set-up and tear-down ----

before(
  async () => {
    mkdirSync(WORK_DIR, { recursive: true });
    sink = await startSmtpSink();
    server = await startServer({
      bin: BIN,
      issuer: ISSUER,
      smtpPort: sink.port,
      logPath: SERVER_LOG,
      pidPath: join(WORK_DIR, 'server.pid'),
    });
    context = await chromium.launchPersistentContext(join(WORK_DIR, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      // The machine's closed network: no background, component, sync or QUIC traffic.
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      colorScheme: 'light',
      locale: 'en-GB',
      viewport: { width: 1024, height: 768 },
      timeout: 30_000,
    });
    context.setDefaultTimeout(ACTION_TIMEOUT);
    context.setDefaultNavigationTimeout(NAV_TIMEOUT);
    page = context.pages()[0] ?? (await context.newPage());
    // axe must really check something: a page with known faults has to fail.
    await page.setContent('<!doctype html><html><title>x</title><img src="data:,"><input id="q"></html>');
    const selfCheck = await runAxe(page);
    const found = selfCheck.violations.map((v) => v.id);
    for (const rule of ['html-has-lang', 'image-alt', 'label']) {
      assert.ok(found.includes(rule), `axe self-check: expected ${rule} on a faulty page, got ${found.join(', ')}`);
    }
    // Nothing listens at the redirect URI. The browser reaches it through the server's
    // redirect, and a redirected request never reaches page.route()/context.route() handlers,
    // so the test notes the request itself; the browser then shows its own error page.
    page.on('request', (request) => {
      if (request.isNavigationRequest() && request.url().startsWith(REDIRECT_URI)) {
        callbacks.push(request.url());
      }
    });
    page.on('response', (response) => {
      const request = response.request();
      if (request.isNavigationRequest() && request.frame() === page.mainFrame()) {
        lastDocument = {
          status: response.status(),
          url: response.url(),
          csp: response.headers()['content-security-policy'] ?? '',
        };
      }
    });
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      // Chromium logs every 4xx document ("Failed to load resource" at the document's own
      // URL) and its own error page for the unreachable redirect URI: neither is a problem of
      // the page. Anything else (a CSP refusal, a missing stylesheet) is kept.
      const at = page.url();
      if (at.startsWith('chrome-error:')) return;
      if (msg.text().startsWith('Failed to load resource: the server responded') && msg.location()?.url === at) return;
      consoleErrors.push({ path: pathOf(at), text: msg.text() });
    });
    page.on('pageerror', (err) => consoleErrors.push({ path: pathOf(page.url()), text: String(err) }));
  },
  { timeout: 60_000 },
);

after(
  async () => {
    printSummary();
    await context?.close().catch(() => {});
    const status = await server?.stop();
    if (status && status.code !== 0 && status.signal !== 'SIGTERM') {
      console.log(`note: lanyard serve exited with ${JSON.stringify(status)}`);
    }
    await sink?.close();
  },
  { timeout: 30_000 },
);

// ---- helpers ----

function pathOf(href) {
  try {
    const u = new URL(href);
    return u.origin === ISSUER ? u.pathname : `${u.origin}${u.pathname}`;
  } catch {
    return href;
  }
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');

/** A fresh authorization request (code flow, PKCE S256, state, nonce). */
function newAuthorization(clientId = CLIENT_ID) {
  const verifier = b64url(randomBytes(32));
  const auth = {
    clientId,
    verifier,
    state: b64url(randomBytes(16)),
    nonce: b64url(randomBytes(16)),
  };
  const url = new URL('/authorize', ISSUER);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    scope: 'openid email profile',
    state: auth.state,
    nonce: auth.nonce,
    code_challenge: b64url(createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
  }).toString();
  auth.url = url.href;
  return auth;
}

async function open(url) {
  await page.goto(url, { waitUntil: 'load' });
}

/** Clicks something that submits a form or follows a link, and waits for the next page. */
async function navigateBy(locator) {
  const loaded = page.waitForEvent('load', { timeout: NAV_TIMEOUT });
  await locator.click();
  await loaded;
}

const button = (name) => page.getByRole('button', { name, exact: true });
const link = (name) => page.getByRole('link', { name, exact: true });

async function currentH1() {
  const h1 = page.getByRole('heading', { level: 1 });
  if ((await h1.count()) === 0) return null;
  return (await h1.first().innerText()).replace(/\s+/g, ' ').trim();
}

async function visibleText(max = 500) {
  const text = await page
    .locator('body')
    .innerText()
    .catch(() => '');
  return text.replace(/\s+/g, ' ').trim().slice(0, max);
}

/**
 * Asserts that the browser shows the page whose <h1> matches `heading`, then runs axe on it
 * in the light and the dark colour scheme and records the result. Returns the h1 text.
 */
async function checkPage(label, heading, { status } = {}) {
  const matches = (h) => (heading instanceof RegExp ? heading.test(h) : h === heading);
  const h1 = await currentH1();
  if (h1 === null || !matches(h1)) {
    throw new Error(
      `expected the page "${heading}" (${label}) but the browser shows ` +
        `h1=${JSON.stringify(h1)} at ${pathOf(page.url())} (HTTP ${lastDocument.status}): ${await visibleText()}`,
    );
  }
  if (status !== undefined) {
    assert.equal(lastDocument.status, status, `${label}: HTTP status of ${pathOf(page.url())}`);
  }
  const record = {
    n: visited.length + 1,
    step: currentStep,
    label,
    path: pathOf(page.url()),
    status: lastDocument.status,
    h1,
    light: null,
    dark: null,
    passed: 0,
    incomplete: new Set(),
  };
  await checkNativeValidation(label);
  // axe runs through the DevTools protocol, not under a bypassed CSP: the page keeps its own.
  assert.match(lastDocument.csp, /default-src 'none'/, `${label}: the page's Content-Security-Policy`);
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    const result = await runAxe(page);
    record[scheme] = result.violations.length;
    for (const v of result.violations) {
      violations.push({ label, path: record.path, scheme, ...v });
      console.log(`AXE VIOLATION ${describeViolation(label, scheme, v)}`);
    }
    for (const i of result.incomplete) record.incomplete.add(i.id);
    record.passed = Math.max(record.passed, result.passed);
  }
  await page.emulateMedia({ colorScheme: 'light' });
  visited.push(record);
  return h1;
}

/**
 * ui.md rule 4 wants the page's own error summary; a form that leaves the browser's native
 * validation on (no `novalidate`) around a required or pattern-checked field shows a browser
 * bubble instead, and the server's error summary is never reached. Recorded as a finding.
 */
async function checkNativeValidation(label) {
  const fields = await page.evaluate(() =>
    [...document.forms]
      .filter((f) => !f.noValidate)
      .flatMap((f) => [...f.elements])
      .filter(
        (e) => e.willValidate && (e.required || e.hasAttribute('pattern') || ['email', 'url', 'number'].includes(e.type)),
      )
      .map((e) => (e.labels?.[0]?.innerText ?? e.name ?? e.id).trim()),
  );
  for (const field of fields) {
    finding(
      label,
      `the form around "${field}" has no novalidate: the browser's own validation bubble pre-empts the ` +
        'error summary (ui.md rule 4)',
    );
  }
}

/** The error summary (role=alert) must be there and say `message`. */
async function expectErrorSummary(message) {
  const alert = page.getByRole('alert');
  await alert.first().waitFor({ state: 'visible' });
  const text = (await alert.first().innerText()).replace(/\s+/g, ' ');
  assert.match(text, /There is a problem/, 'error summary title');
  assert.ok(text.includes(message), `error summary says ${JSON.stringify(message)}; it says ${JSON.stringify(text)}`);
}

async function expectNotice(message) {
  const status = page.getByRole('status');
  await status.first().waitFor({ state: 'visible' });
  const text = (await status.first().innerText()).replace(/\s+/g, ' ');
  assert.ok(text.includes(message), `notice says ${JSON.stringify(message)}; it says ${JSON.stringify(text)}`);
}

/** The browser went to the redirect URI with ?code= and our state; the code is exchanged. */
async function expectCallback(auth, label) {
  const seen = callbacks.map((c) => new URL(c)).find((u) => u.searchParams.get('state') === auth.state);
  if (!seen) {
    throw new Error(
      `${label}: expected the redirect to ${REDIRECT_URI}, the browser is at ${pathOf(page.url())} ` +
        `(h1=${JSON.stringify(await currentH1())}): ${await visibleText()}`,
    );
  }
  const url = seen;
  assert.equal(url.searchParams.get('error'), null, `${label}: error ${url.searchParams.get('error_description')}`);
  assert.equal(url.searchParams.get('state'), auth.state, `${label}: state`);
  const code = url.searchParams.get('code');
  assert.ok(code, `${label}: ?code= in ${url.href}`);
  // Exchange it (public client + PKCE): proves the code is a real one for this request.
  const response = await fetch(new URL('/token', ISSUER), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      client_id: auth.clientId,
      code_verifier: auth.verifier,
    }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = await response.json().catch(() => ({}));
  assert.equal(response.status, 200, `${label}: token exchange: ${JSON.stringify(body)}`);
  assert.ok(body.id_token, `${label}: id_token in the token response`);
  const claims = JSON.parse(Buffer.from(body.id_token.split('.')[1], 'base64url').toString('utf8'));
  assert.equal(claims.nonce, auth.nonce, `${label}: nonce`);
  visited.push({
    n: visited.length + 1,
    step: currentStep,
    label: `${label} → back at the app`,
    path: pathOf(url.href),
    status: lastDocument.status,
    h1: `code exchanged: acr=${claims.acr ?? '-'} amr=${JSON.stringify(claims.amr ?? [])}`,
    light: null,
    dark: null,
    incomplete: new Set(),
  });
  return claims;
}

/** The email and password pages; returns how many mails the account had before the password. */
async function emailAndPassword(label) {
  await checkPage(`email (${label})`, 'Sign in');
  await page.getByLabel('Email address').fill(EMAIL);
  await navigateBy(button('Continue'));
  await checkPage(`password (${label})`, 'Enter your password');
  const mailsBefore = sink.to(EMAIL).length;
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await navigateBy(button('Sign in'));
  return mailsBefore;
}

/** Types the newest emailed code (the one mail after `mailsBefore`) and continues. */
async function typeEmailedCode(mailsBefore) {
  const mail = await sink.waitForMail(EMAIL, mailsBefore);
  assert.match(mail.subject, /sign-in code/i, 'subject of the code mail');
  const code = codeIn(mail);
  await page.getByLabel('Code', { exact: true }).fill(code);
  await navigateBy(button('Continue'));
  return code;
}

/**
 * Reads the backup code shown on the page: 24 Crockford base32 characters, shown grouped
 * for reading as XXXX-XXXX-XXXX-XXXX-XXXX-XXXX (ui.md rule 6). An ungrouped code still
 * works when typed, so the flow goes on and the difference is recorded as a finding.
 */
async function readBackupCode(label) {
  const text = (await page.getByRole('code').first().innerText()).trim();
  assert.match(text, /^[0-9A-Z]{4}(-?[0-9A-Z]{4}){5}$/, `${label}: a backup code on the page`);
  if (!/^[0-9A-Z]{4}(-[0-9A-Z]{4}){5}$/.test(text)) {
    finding(
      label,
      `the backup code is shown ungrouped (${text.length} characters in one run) ` +
        'instead of XXXX-XXXX-XXXX-XXXX-XXXX-XXXX like the first one (ui.md rule 6)',
    );
  }
  return text;
}

async function saveBackupCodeAndContinue() {
  await page.getByLabel('I saved my backup code').check();
  await navigateBy(button('Continue'));
}

/**
 * The next authenticator code the server will take: for a step after the last accepted one
 * (it refuses a step ≤ that) and within its ±1 step of skew. No waiting: the step after the
 * last one is always within reach while the last one is not in the future.
 */
function nextTotpCode() {
  const now = stepAt();
  const step = Math.max(now, (state.lastTotpStep ?? -Infinity) + 1);
  if (step > now + 1) throw new Error(`no usable authenticator code now (last step ${state.lastTotpStep}, now ${now})`);
  state.lastTotpStep = step;
  return codeAtStep(base32Decode(state.totpSecret), step);
}

/** Sign out through /logout: the confirmation page, then "You have signed out". */
async function signOut(label, { viaLink = false } = {}) {
  if (viaLink) await navigateBy(link('Sign out'));
  else await open(new URL('/logout', ISSUER).href);
  await checkPage(`sign out? (${label})`, 'Do you want to sign out?');
  await navigateBy(button('Sign out'));
  await checkPage(`signed out (${label})`, 'You have signed out');
}

async function saveArtifacts(name) {
  if (!ARTIFACTS || !page) return;
  try {
    mkdirSync(ARTIFACTS, { recursive: true });
    const base = join(ARTIFACTS, name.replace(/[^a-z0-9]+/gi, '-').toLowerCase());
    await page.screenshot({ path: `${base}.png`, fullPage: true, timeout: 5000 });
    writeFileSync(`${base}.html`, await page.content());
    console.log(`saved ${base}.png and .html`);
  } catch (e) {
    console.log(`could not save artifacts: ${e.message}`);
  }
}

let currentStep = '';

/** A step of the one long journey: skipped once an earlier step failed. */
function step(name, fn) {
  test(name, { timeout: STEP_TIMEOUT }, async (t) => {
    if (failedStep) {
      t.skip(`an earlier step failed: ${failedStep}`);
      return;
    }
    currentStep = name.split(' ')[0];
    try {
      await fn(t);
    } catch (e) {
      failedStep = name;
      console.log(
        `FLOW FAILURE in "${name}": browser at ${page ? pathOf(page.url()) : '-'} ` +
          `(HTTP ${lastDocument.status}, h1=${JSON.stringify(page ? await currentH1().catch(() => null) : null)})`,
      );
      await saveArtifacts(`failure-${name}`);
      throw e;
    }
    if (server && !server.alive()) throw new Error(`lanyard serve died: ${JSON.stringify(server.exitStatus())}`);
  });
}

function printSummary() {
  const lines = [];
  lines.push('');
  lines.push(`Pages visited (${visited.length} entries; axe ${WCAG_TAGS.join(', ')}; violations light/dark):`);
  for (const v of visited) {
    const axe = v.light === null ? '   —   ' : `${String(v.light).padStart(2)} / ${String(v.dark).padEnd(2)}`;
    const passed = v.light === null ? '' : `  (${v.passed} rules passed)`;
    const review = v.incomplete.size ? `  needs review: ${[...v.incomplete].join(', ')}` : '';
    lines.push(
      `  ${String(v.n).padStart(2)}. [${v.step}] ${axe}  ${String(v.status).padEnd(3)} ${v.path.padEnd(26)} ${v.label} — "${v.h1}"${passed}${review}`,
    );
  }
  const checked = visited.filter((v) => v.light !== null);
  const distinct = new Set(checked.map((v) => v.h1));
  lines.push(
    `axe: ${checked.length} page views (${distinct.size} distinct pages) checked in light and dark; ` +
      `${violations.length} violation(s)` +
      (violations.length ? ` in rules ${[...new Set(violations.map((v) => v.id))].join(', ')}` : ''),
  );
  if (findings.length) {
    lines.push(`findings other than axe (${findings.length}):`);
    for (const f of findings) lines.push(`  [${f.where}] ${f.text}`);
  }
  if (consoleErrors.length) {
    lines.push(`browser console errors (${consoleErrors.length}):`);
    for (const e of consoleErrors) lines.push(`  ${e.path}: ${e.text.slice(0, 300)}`);
  }
  console.log(lines.join('\n'));
}

// ---- the journey ----

step('1 first sign-in: email, password, emailed code, backup code, do not trust', async () => {
  const auth = newAuthorization();
  await open(auth.url);
  await checkPage('email', 'Sign in');
  // The error state: nothing typed.
  await navigateBy(button('Continue'));
  await checkPage('email (error: empty)', 'Sign in', { status: 400 });
  await expectErrorSummary('Enter your email address');
  await page.getByLabel('Email address').fill(EMAIL);
  await navigateBy(button('Continue'));

  await checkPage('password', 'Enter your password');
  await navigateBy(button('Sign in'));
  await checkPage('password (error: empty)', 'Enter your password', { status: 400 });
  await expectErrorSummary('Enter your password');
  const mailsBefore = sink.to(EMAIL).length;
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await navigateBy(button('Sign in'));

  await checkPage('code (email)', 'Check your email');
  // A malformed code is not counted; the page shows the error state.
  await page.getByLabel('Code', { exact: true }).fill('12345');
  await navigateBy(button('Continue'));
  await checkPage('code (email, error: 5 digits)', /Check your email/, { status: 400 });
  await expectErrorSummary('Enter the 6-digit code');
  await typeEmailedCode(mailsBefore);

  await checkPage('backup code (first sign-in)', 'Save your backup code');
  state.backupCode = await readBackupCode('backup code (first sign-in)');
  await saveBackupCodeAndContinue();

  await checkPage('trust this device?', 'Trust this device?');
  await navigateBy(button("Don't trust this device"));
  await expectCallback(auth, 'first sign-in');
});

step('1b consent page of a third-party app (signed in: single sign-on)', async () => {
  const auth = newAuthorization(THIRD_PARTY_CLIENT_ID);
  await open(auth.url);
  await checkPage('consent', /^Allow .+ to use your .+ account\?$/);
  await navigateBy(button('Allow'));
  await expectCallback(auth, 'consent');
});

step('2 security page: set up the authenticator app', async () => {
  await open(new URL('/account/security', ISSUER).href);
  await checkPage('security', 'Security');
  await navigateBy(link('Set up an authenticator app'));
  await checkPage('set-up', 'Set up your authenticator app');
  const secretText = (await page.getByRole('code').first().innerText()).trim();
  assert.match(secretText, /^([A-Z2-7]{4} )*[A-Z2-7]{1,4}$/, 'the key in groups of 4');
  state.totpSecret = secretText;
  assert.equal(base32Decode(secretText).length, 20, 'a 160-bit key');
  const qr = page.getByRole('img', { name: 'QR code for your authenticator app' });
  assert.equal(await qr.count(), 1, 'the QR code has an accessible name');

  await page.getByLabel('Code from the app').fill('abc');
  await navigateBy(button('Turn on'));
  await checkPage('set-up (error: not a code)', 'Set up your authenticator app', { status: 400 });
  await expectErrorSummary('Enter the 6-digit code');
  // The key on the page must still be the pending one.
  assert.equal((await page.getByRole('code').first().innerText()).trim(), secretText, 'same key after the error');

  await page.getByLabel('Code from the app').fill(nextTotpCode());
  await navigateBy(button('Turn on'));
  await checkPage('security (authenticator on)', 'Security');
  await expectNotice('Your authenticator app is turned on');
});

step('3 sign out, sign in with the authenticator app', async () => {
  await signOut('after set-up', { viaLink: true });
  const auth = newAuthorization();
  await open(auth.url);
  const mailsBefore = await emailAndPassword('authenticator account');
  await checkPage('code (authenticator app)', 'Enter the code from your authenticator app');
  assert.equal(sink.to(EMAIL).length, mailsBefore, 'no code is emailed to an account that uses the app');
  await page.getByLabel('Code', { exact: true }).fill(nextTotpCode());
  await navigateBy(button('Continue'));
  await expectCallback(auth, 'authenticator sign-in');
});

step('4 sign out, sign in with the backup code; a new one is shown', async () => {
  await signOut('after authenticator sign-in');
  const auth = newAuthorization();
  await open(auth.url);
  await emailAndPassword('backup code');
  await checkPage('code (authenticator app, before switching)', 'Enter the code from your authenticator app');
  await navigateBy(link('Use a backup code'));
  await checkPage('code (backup)', 'Enter your backup code');
  await page.getByLabel('Backup code').fill(state.backupCode);
  await navigateBy(button('Continue'));
  await checkPage('backup code (replaces the used one)', /^You used your backup code/);
  const fresh = await readBackupCode('backup code (replaces the used one)');
  assert.notEqual(fresh, state.backupCode, 'a new backup code');
  state.backupCode = fresh;
  await saveBackupCodeAndContinue();
  await expectCallback(auth, 'backup-code sign-in');
});

step('5 turn the app off from the security page, trust this device, sign in without a code', async () => {
  await signOut('after backup-code sign-in');
  // The security page while signed out: sign in first, then back to it.
  await open(new URL('/account/security', ISSUER).href);
  await emailAndPassword('from the security page');
  await checkPage('code (authenticator app, account sign-in)', 'Enter the code from your authenticator app');
  await navigateBy(link('Use a backup code'));
  await checkPage('code (backup, account sign-in)', 'Enter your backup code');
  await page.getByLabel('Backup code').fill(state.backupCode);
  await navigateBy(button('Continue'));
  await checkPage('backup code (replaces the used one, account sign-in)', /^You used your backup code/);
  state.backupCode = await readBackupCode('backup code (replaces the used one, account sign-in)');
  await saveBackupCodeAndContinue();
  await checkPage('security (signed in from the security page)', 'Security');

  await navigateBy(button('Turn off your authenticator app'));
  await checkPage('security (authenticator off)', 'Security');
  await expectNotice('Your authenticator app is turned off');

  await signOut('after turning the app off', { viaLink: true });
  let auth = newAuthorization();
  await open(auth.url);
  const mailsBefore = await emailAndPassword('email account again');
  await checkPage('code (email, after turning the app off)', 'Check your email');
  await typeEmailedCode(mailsBefore);
  await checkPage('trust this device? (trusting)', 'Trust this device?');
  await navigateBy(button('Trust this device'));
  await expectCallback(auth, 'trusting sign-in');

  await signOut('after trusting');
  auth = newAuthorization();
  await open(auth.url);
  await emailAndPassword('trusted device');
  // No code page: straight back to the app.
  await expectCallback(auth, 'trusted-device sign-in (no code page)');
});

step('6 reconfirm before a sensitive change (trusted-device session is not fresh), error page', async () => {
  await open(new URL('/account/security', ISSUER).href);
  await checkPage('security (with a trusted device)', 'Security');
  assert.equal(await button('Remove all trusted devices').count(), 1, 'the trusted device is listed');

  await navigateBy(link('Set up an authenticator app'));
  await checkPage('reconfirm', "Confirm it's you");
  await navigateBy(button('Continue'));
  await checkPage('reconfirm (error: empty)', "Confirm it's you", { status: 400 });
  await expectErrorSummary('Enter your password');
  const mailsBefore = sink.to(EMAIL).length;
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await navigateBy(button('Continue'));
  await checkPage('code (email, step-up)', /^Confirm it's you Check your email$/);
  await typeEmailedCode(mailsBefore);
  await checkPage('set-up (after reconfirming)', 'Set up your authenticator app');

  await open(new URL('/login/code?flow=no-such-flow', ISSUER).href);
  await checkPage('error page (expired sign-in)', 'Your sign-in has expired', { status: 400 });
});

test('axe: zero WCAG 2.x A/AA violations on every page visited', () => {
  if (violations.length === 0) return;
  const report = violations.map((v) => describeViolation(`${v.label} ${v.path}`, v.scheme, v)).join('\n');
  assert.fail(`${violations.length} axe violation(s):\n${report}`);
});

// Page rules axe does not check: codes grouped for reading, forms that show our own error
// summary (novalidate), and no browser console errors.
test(
  'design: every page follows the page rules checked here (codes grouped, no console errors)',
  () => {
    const problems = [
      ...findings.map((f) => `[${f.where}] ${f.text}`),
      ...consoleErrors.map((e) => `[${e.path}] browser console: ${e.text}`),
    ];
    assert.deepEqual(problems, [], `${problems.length} problem(s):\n${problems.join('\n')}`);
  },
);

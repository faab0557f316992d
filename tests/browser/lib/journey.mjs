// The browser journey's machinery, shared by a11y.test.mjs and the step files in steps/:
// the SMTP sink, `lanyard serve`, one Chromium page, and the helpers a step uses to act as a
// person would (labels, roles, names). checkPage() runs axe-core (WCAG 2.x A/AA) on every page
// in the light and the dark colour scheme at a desktop and a phone width, and writes a
// screenshot of each to BROWSER_SCREENSHOTS. See ../README.md.
//
// Started by run.sh, which prepares the data dir (account + clients through the CLI) and
// passes everything in the environment; this module starts the SMTP sink and `lanyard serve`.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

import { runAxe, describeViolation, WCAG_TAGS } from './axe.mjs';
import { startSmtpSink, codeIn } from './smtp-sink.mjs';
import { startServer } from './server.mjs';
import { base32Decode, codeAtStep, stepAt } from './totp.mjs';

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (start the test with run.sh)`);
  return v;
}

export const BIN = need('LANYARD_BIN');
export const ISSUER = need('BROWSER_ISSUER');
export const CLIENT_ID = need('BROWSER_CLIENT_ID');
export const THIRD_PARTY_CLIENT_ID = need('BROWSER_THIRD_PARTY_CLIENT_ID');
export const REDIRECT_URI = need('BROWSER_REDIRECT_URI');
export const EMAIL = need('BROWSER_EMAIL');
export const PASSWORD = need('BROWSER_PASSWORD');
export const WORK_DIR = need('BROWSER_TMP');
/** The test IdP run.sh started (tests/idp): organization acme's provider. */
export const IDP_ISSUER = need('BROWSER_IDP_ISSUER');
const CHROMIUM = process.env.BROWSER_CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = process.env.BROWSER_ARTIFACTS || '';
/** Where every checked page's screenshots go (both widths, both schemes); none when unset. */
const SCREENSHOTS = process.env.BROWSER_SCREENSHOTS || '';
const SERVER_LOG = process.env.BROWSER_SERVER_LOG || join(WORK_DIR, 'server.log');

/** The widths every page is checked and photographed at (ui.md rule 8: mobile first). */
export const WIDTHS = [
  { name: 'desktop', width: 1024, height: 768 },
  { name: 'phone', width: 390, height: 844 },
];

const STEP_TIMEOUT = 150_000;
const ACTION_TIMEOUT = 10_000;
const NAV_TIMEOUT = 15_000;

export let sink;
let server;
export let context;
export let page;

/** Shared across the steps, in order. */
export const state = {
  backupCode: null,
  totpSecret: null,
  lastTotpStep: null,
};

/** Every page the test looked at, with its axe results. */
export const visited = [];
export const violations = [];
export const consoleErrors = [];
/** Problems that are not axe violations and do not stop the journey (see the last test). */
export const findings = [];

export function finding(label, text) {
  const where = `${label} (${pathOf(page.url())})`;
  if (!findings.some((f) => f.text === text)) {
    findings.push({ where, text });
    console.log(`FINDING [${where}]: ${text}`);
  }
}
export let lastDocument = { status: 0, url: '', csp: '' };
/** Every navigation to the redirect URI, in order. */
export const callbacks = [];
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
      // The test IdP's pages (steps/60-federation.mjs) are not ours: Chromium notes their
      // missing /favicon.ico, for one.
      if (at.startsWith(`${IDP_ISSUER}/`)) return;
      if (msg.text().startsWith('Failed to load resource: the server responded') && msg.location()?.url === at) return;
      consoleErrors.push({ path: pathOf(at), text: msg.text() });
    });
    page.on('pageerror', (err) => {
      if (!page.url().startsWith(`${IDP_ISSUER}/`)) consoleErrors.push({ path: pathOf(page.url()), text: String(err) });
    });
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

export function pathOf(href) {
  try {
    const u = new URL(href);
    return u.origin === ISSUER ? u.pathname : `${u.origin}${u.pathname}`;
  } catch {
    return href;
  }
}

export const b64url = (buf) => Buffer.from(buf).toString('base64url');

/** A fresh authorization request (code flow, PKCE S256, state, nonce). */
export function newAuthorization(clientId = CLIENT_ID) {
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

export async function open(url) {
  await page.goto(url, { waitUntil: 'load' });
}

/** Clicks something that submits a form or follows a link, and waits for the next page. */
export async function navigateBy(locator) {
  const loaded = page.waitForEvent('load', { timeout: NAV_TIMEOUT });
  await locator.click();
  await loaded;
}

export const button = (name) => page.getByRole('button', { name, exact: true });
export const link = (name) => page.getByRole('link', { name, exact: true });

export async function currentH1() {
  const h1 = page.getByRole('heading', { level: 1 });
  if ((await h1.count()) === 0) return null;
  return (await h1.first().innerText()).replace(/\s+/g, ' ').trim();
}

export async function visibleText(max = 500) {
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
export async function checkPage(label, heading, { status } = {}) {
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
    light: 0,
    dark: 0,
    passed: 0,
    incomplete: new Set(),
  };
  await checkNativeValidation(label);
  // axe runs through the DevTools protocol, not under a bypassed CSP: the page keeps its own.
  assert.match(lastDocument.csp, /default-src 'none'/, `${label}: the page's Content-Security-Policy`);
  for (const size of WIDTHS) {
    await page.setViewportSize({ width: size.width, height: size.height });
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      const result = await runAxe(page);
      record[scheme] += result.violations.length;
      for (const v of result.violations) {
        violations.push({ label: `${label} @${size.name}`, path: record.path, scheme, ...v });
        console.log(`AXE VIOLATION ${describeViolation(`${label} @${size.name}`, scheme, v)}`);
      }
      for (const i of result.incomplete) record.incomplete.add(i.id);
      record.passed = Math.max(record.passed, result.passed);
      await screenshot(record, size.name, scheme);
    }
  }
  await page.setViewportSize({ width: WIDTHS[0].width, height: WIDTHS[0].height });
  await page.emulateMedia({ colorScheme: 'light' });
  visited.push(record);
  return h1;
}

/** A full-page screenshot of the page as checked, for a reviewer (BROWSER_SCREENSHOTS). */
async function screenshot(record, width, scheme) {
  if (!SCREENSHOTS) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  const name = `${String(record.n).padStart(3, '0')}-${record.label}`.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-${width}-${scheme}.png`), fullPage: true, timeout: 10_000 });
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
export async function expectErrorSummary(message) {
  const alert = page.getByRole('alert');
  await alert.first().waitFor({ state: 'visible' });
  const text = (await alert.first().innerText()).replace(/\s+/g, ' ');
  assert.match(text, /There is a problem/, 'error summary title');
  assert.ok(text.includes(message), `error summary says ${JSON.stringify(message)}; it says ${JSON.stringify(text)}`);
}

export async function expectNotice(message) {
  const status = page.getByRole('status');
  await status.first().waitFor({ state: 'visible' });
  const text = (await status.first().innerText()).replace(/\s+/g, ' ');
  assert.ok(text.includes(message), `notice says ${JSON.stringify(message)}; it says ${JSON.stringify(text)}`);
}

/** The browser went to the redirect URI with ?code= and our state; the code is exchanged. */
export async function expectCallback(auth, label) {
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
export async function emailAndPassword(label, { email = EMAIL, password = PASSWORD } = {}) {
  await checkPage(`email (${label})`, 'Sign in');
  await page.getByLabel('Email address').fill(email);
  await navigateBy(button('Continue'));
  await checkPage(`password (${label})`, 'Enter your password');
  const mailsBefore = sink.to(email).length;
  await page.getByLabel('Password', { exact: true }).fill(password);
  await navigateBy(button('Sign in'));
  return mailsBefore;
}

/** Types the newest emailed code (the one mail after `mailsBefore`) and continues. */
export async function typeEmailedCode(mailsBefore, { email = EMAIL } = {}) {
  const mail = await sink.waitForMail(email, mailsBefore);
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
export async function readBackupCode(label) {
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

export async function saveBackupCodeAndContinue() {
  await page.getByLabel('I saved my backup code').check();
  await navigateBy(button('Continue'));
}

/**
 * The next authenticator code the server will take: for a step after the last accepted one
 * (it refuses a step ≤ that) and within its ±1 step of skew. No waiting: the step after the
 * last one is always within reach while the last one is not in the future.
 */
export function nextTotpCode() {
  const now = stepAt();
  const step = Math.max(now, (state.lastTotpStep ?? -Infinity) + 1);
  if (step > now + 1) throw new Error(`no usable authenticator code now (last step ${state.lastTotpStep}, now ${now})`);
  state.lastTotpStep = step;
  return codeAtStep(base32Decode(state.totpSecret), step);
}

/** Sign out through /logout: the confirmation page, then "You have signed out". */
export async function signOut(label, { viaLink = false } = {}) {
  if (viaLink) await navigateBy(link('Sign out'));
  else await open(new URL('/logout', ISSUER).href);
  await checkPage(`sign out? (${label})`, 'Do you want to sign out?');
  await navigateBy(button('Sign out'));
  await checkPage(`signed out (${label})`, 'You have signed out');
}

export async function saveArtifacts(name) {
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
export function step(name, fn) {
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
    `axe: ${checked.length} page views (${distinct.size} distinct pages) checked in light and dark at ${WIDTHS.map((w) => w.width).join(" and ")} px; ` +
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


/**
 * Makes another account through the CLI (against the server's own data dir or database), for
 * a step file that must not disturb the shared account's state. Returns { email, password }.
 */
export function createAccount({ email, name, password = 'another-browser-password-456' }) {
  execFileSync(BIN, ['user', 'create', '--email', email, '--name', name, '--password-stdin', '--json'], {
    input: password,
    stdio: ['pipe', 'ignore', 'pipe'],
    timeout: 30_000,
  });
  return { email, password };
}

/** Forgets every cookie: the next page is seen as by a browser that never signed in. */
export async function freshBrowser() {
  await context.clearCookies();
}

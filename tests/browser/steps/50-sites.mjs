// Issue 13 in the browser: the sign-in page of a site in `dual` mode (F2) — the site's own
// login and "Sign in with your Lanyard account" for the same app — its error states, the
// legacy login through the emailed code back to the app, and the page once the site has moved
// to identity accounts. The site, its client and its users are made through the CLI, the
// users from the committed fixture (hashes made by the PyPI reference implementations).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

import {
  BIN,
  REDIRECT_URI,
  step,
  checkPage,
  navigateBy,
  button,
  link,
  open,
  page,
  newAuthorization,
  typeEmailedCode,
  expectCallback,
  expectErrorSummary,
  freshBrowser,
  sink,
} from '../lib/journey.mjs';

const SITE_CLIENT = 'browser-site';
const SLUG = 'acme';
const SITE_NAME = 'Acme Studio';
const FIXTURES = fileURLToPath(new URL('../../../crates/sites/tests/fixtures/', import.meta.url));

function lanyard(args) {
  return execFileSync(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 }).toString();
}

/** A licensed user of the fixture (bcrypt hash) and the fixture's password. */
function licensedUser() {
  const rows = readFileSync(join(FIXTURES, 'legacy_users.csv'), 'utf8').trim().split('\n').slice(1);
  const password = readFileSync(join(FIXTURES, 'password.txt'), 'utf8').replace(/\r?\n$/, '');
  const [login, email] = rows
    .map((r) => r.split(','))
    .find(([, , role, hash]) => role === 'licensed_user' && hash.startsWith('$2'));
  return { login, email, password };
}

let user;

step('T1 a dual-mode site: its sign-in page, its errors, the legacy login to the app', async () => {
  lanyard([
    'client', 'create', '--id', SITE_CLIENT, '--name', 'Acme Review', '--first-party',
    '--redirect-uri', REDIRECT_URI, '--grant', 'authorization_code', '--auth', 'none',
    '--scope', 'openid', '--scope', 'email', '--scope', 'profile', '--json',
  ]);
  lanyard(['site', 'create', '--slug', SLUG, '--name', SITE_NAME, '--client', SITE_CLIENT]);
  lanyard(['site', 'import', '--site', SLUG, join(FIXTURES, 'legacy_users.csv')]);
  lanyard(['site', 'migrate', SLUG, 'dual']);
  user = licensedUser();

  await freshBrowser();
  const auth = newAuthorization(SITE_CLIENT);
  await open(auth.url);
  await checkPage('site sign-in (dual)', `Sign in to ${SITE_NAME}`);
  assert.equal(await link('Sign in with your Lanyard account').count(), 1, 'the identity way, too');

  await navigateBy(button('Sign in'));
  await checkPage('site sign-in (error: empty)', `Sign in to ${SITE_NAME}`, { status: 400 });
  await expectErrorSummary('Enter your login');

  await page.getByLabel('Login').fill(user.login);
  await page.getByLabel('Password', { exact: true }).fill('not the password');
  await navigateBy(button('Sign in'));
  await checkPage('site sign-in (error: wrong)', `Sign in to ${SITE_NAME}`, { status: 400 });
  await expectErrorSummary('The login or password is not right');
  assert.equal(await page.getByLabel('Login').inputValue(), user.login, 'the login is kept');

  await page.getByLabel('Password', { exact: true }).fill(user.password);
  const before = sink.to(user.email).length;
  await navigateBy(button('Sign in'));
  await checkPage('code (site user)', 'Check your email');
  await typeEmailedCode(before, { email: user.email });
  await checkPage('trust this device? (site user)', 'Trust this device?');
  await navigateBy(button("Don't trust this device"));
  await expectCallback(auth, 'site user: legacy login');
});

step('T2 "Sign in with your Lanyard account" goes to the identity sign-in of the same app', async () => {
  await freshBrowser();
  const auth = newAuthorization(SITE_CLIENT);
  await open(auth.url);
  await checkPage('site sign-in (dual, again)', `Sign in to ${SITE_NAME}`);
  const flow = new URL(page.url()).searchParams.get('flow');
  await navigateBy(link('Sign in with your Lanyard account'));
  await checkPage('email (from the site page)', 'Sign in');
  assert.equal(new URL(page.url()).searchParams.get('flow'), flow, 'the same sign-in');
});

step('T3 a site moved to identity accounts: its page points to the identity sign-in', async () => {
  lanyard(['site', 'migrate', SLUG, 'identity']);
  await freshBrowser();
  await open(newAuthorization(SITE_CLIENT).url);
  await checkPage('email (identity-mode site)', 'Sign in');
  const flow = new URL(page.url()).searchParams.get('flow');
  await open(new URL(`/sites/${SLUG}/login?flow=${flow}`, page.url()).href);
  await checkPage('site sign-in (identity)', `Sign in to ${SITE_NAME}`);
  assert.equal(await page.getByLabel('Login').count(), 0, 'no legacy form');
  await navigateBy(link('Sign in with your Lanyard account'));
  await checkPage('email (from the identity-mode site page)', 'Sign in');
});

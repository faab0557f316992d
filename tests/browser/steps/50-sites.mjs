// Issue 13 in the browser: the sign-in page of a site in `dual` mode (F2) — the site's own
// login and "Sign in with your Lanyard account" for the same app — its error states, the
// legacy login through the emailed code back to the app; site 2FA (C3, C4): the required
// authenticator set-up, the set of ten backup codes with its text file, a sign-in with one of
// them; and the page once the site has moved to identity accounts. The site, its client and its users are made through the CLI, the
// users from the committed fixture (hashes made by the PyPI reference implementations).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { base32Decode, codeAtStep, stepAt } from '../lib/totp.mjs';
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

/** A licensed user of the fixture whose bcrypt hash starts with `prefix`, and the password. */
function licensedUser(prefix = '$2') {
  const rows = readFileSync(join(FIXTURES, 'legacy_users.csv'), 'utf8').trim().split('\n').slice(1);
  const password = readFileSync(join(FIXTURES, 'password.txt'), 'utf8').replace(/\r?\n$/, '');
  const [login, email] = rows
    .map((r) => r.split(','))
    .find(([, , role, hash]) => role === 'licensed_user' && hash.startsWith(prefix));
  return { login, email, password };
}

/** The legacy form of the site's sign-in page, filled and sent. */
async function legacyLogin({ login, password }) {
  await page.getByLabel('Login').fill(login);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await navigateBy(button('Sign in'));
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

step('T3 site 2FA required: the app set-up, ten backup codes and their file, a code instead of the app', async () => {
  lanyard(['site', 'two-factor', SLUG, 'on']);
  const carol = licensedUser('$2y$');
  await freshBrowser();
  const auth = newAuthorization(SITE_CLIENT);
  await open(auth.url);
  await checkPage('site sign-in (2FA required)', `Sign in to ${SITE_NAME}`);
  const before = sink.to(carol.email).length;
  await legacyLogin(carol);
  // The usual second step first; then the app the site requires, before any session.
  await checkPage('code (site user, 2FA required)', 'Check your email');
  await typeEmailedCode(before, { email: carol.email });
  await checkPage('site 2FA set-up', 'Set up your authenticator app');
  assert.equal(await page.getByRole('img', { name: 'QR code for your authenticator app' }).count(), 1, 'the QR code');
  const secret = base32Decode((await page.getByRole('code').first().innerText()).trim());

  await navigateBy(button('Verify and Save'));
  await checkPage('site 2FA set-up (error: empty)', 'Set up your authenticator app', { status: 400 });
  let lastStep = stepAt();
  await page.getByLabel('Code from the app').fill(codeAtStep(secret, lastStep));
  await navigateBy(button('Verify and Save'));

  await checkPage('site backup codes (first set)', /Save your backup codes$/);
  const shown = (await page.locator('ol.code-list li code').allInnerTexts()).map((c) => c.trim());
  assert.equal(shown.length, 10, 'a set of ten');
  assert.equal(new Set(shown).size, 10, 'ten different codes');
  const [download] = await Promise.all([page.waitForEvent('download'), link('Save to Text File').click()]);
  assert.equal(download.suggestedFilename(), `${SLUG}_backup_codes_${carol.login}.txt`);
  const file = readFileSync(await download.path(), 'utf8');
  for (const code of shown) assert.ok(file.includes(code), `the file holds ${code}`);

  await navigateBy(button('Continue'));
  await checkPage('site backup codes (error: not ticked)', /Save your backup codes$/, { status: 400 });
  await page.getByLabel('I saved my backup codes').check();
  await navigateBy(button('Continue'));
  await expectCallback(auth, 'site user: 2FA set up');

  // The next sign-in asks for the app; a backup code from the file does instead, once.
  await freshBrowser();
  const again = newAuthorization(SITE_CLIENT);
  await open(again.url);
  await legacyLogin(carol);
  await checkPage('code (site user: app)', 'Enter the code from your authenticator app');
  await navigateBy(link('Use a backup code'));
  await checkPage('code (site user: backup)', 'Enter your backup code');
  await page.getByLabel('Backup code').fill(shown[0]);
  await navigateBy(button('Continue'));
  await checkPage('stay signed in? (site user)', 'Stay signed in on this browser?');
  await navigateBy(button("Don't stay signed in"));
  await expectCallback(again, 'site user: backup code');
});

step('T4 a site moved to identity accounts: its page points to the identity sign-in', async () => {
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

// Headless-browser accessibility test: drives Lanyard's sign-in, second-step and security
// pages in Debian's Chromium (playwright-core) as a person would, and runs axe-core (WCAG 2.x
// A/AA) on every page it sees, in the light and the dark colour scheme, at a desktop and a
// phone width. See README.md.
//
// The core journey is below; each file in steps/ adds the steps of one area, run after it in
// the order of their names (each with its own account where it changes an account's state).
// The machinery (server, sink, browser, checkPage and friends) is lib/journey.mjs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';

import { describeViolation } from './lib/axe.mjs';
import {
  ISSUER,
  THIRD_PARTY_CLIENT_ID,
  EMAIL,
  PASSWORD,
  sink,
  page,
  state,
  step,
  open,
  navigateBy,
  button,
  link,
  checkPage,
  expectErrorSummary,
  expectNotice,
  expectCallback,
  emailAndPassword,
  typeEmailedCode,
  readBackupCode,
  saveBackupCodeAndContinue,
  nextTotpCode,
  signOut,
  newAuthorization,
  violations,
  findings,
  consoleErrors,
} from './lib/journey.mjs';
import { base32Decode } from './lib/totp.mjs';

// ---- the core journey ----

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
  // App accounts are offered a longer session instead of a trusted device (issue 12 item 4).
  await checkPage('stay signed in? (authenticator account)', 'Stay signed in on this browser?');
  await navigateBy(button("Don't stay signed in"));
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
  await checkPage('stay signed in? (backup code)', 'Stay signed in on this browser?');
  await navigateBy(button("Don't stay signed in"));
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
  await checkPage('stay signed in? (account sign-in)', 'Stay signed in on this browser?');
  await navigateBy(button("Don't stay signed in"));
  await checkPage('security (signed in from the security page)', 'Security');

  await navigateBy(link('Turn off your authenticator app'));
  await checkPage('confirm turning the app off', 'Turn off your authenticator app?');
  await navigateBy(button('Turn off the authenticator app'));
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
  assert.equal(await link('Remove all trusted devices').count(), 1, 'the trusted device is listed');

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

// ---- the areas' steps (steps/*.mjs, in name order) ----

const stepsDir = new URL('./steps/', import.meta.url);
for (const file of readdirSync(stepsDir).filter((f) => f.endsWith('.mjs')).sort()) {
  await import(new URL(file, stepsDir).href);
}

// ---- checks over the whole run ----

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

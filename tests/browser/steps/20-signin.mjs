// Issue 12, items 1, 2 and 4 in the browser: "Too many codes sent" after the right password
// offers the backup code (and signing in with it works); an authenticator-app account is
// offered "Stay signed in for 30 days" and the promise holds after the browser is closed;
// the lock mail says what happened, until when, and the ways back in.

import assert from 'node:assert/strict';

import {
  step,
  checkPage,
  navigateBy,
  button,
  link,
  open,
  page,
  context,
  sink,
  newAuthorization,
  emailAndPassword,
  typeEmailedCode,
  readBackupCode,
  saveBackupCodeAndContinue,
  expectCallback,
  expectNotice,
  expectErrorSummary,
  visibleText,
  createAccount,
  freshBrowser,
  signOut,
  ISSUER,
} from '../lib/journey.mjs';
import { base32Decode, codeAtStep, stepAt } from '../lib/totp.mjs';

const SENDS_PER_HOUR = 5;
const DAY_MS = 24 * 3600 * 1000;

/** A first sign-in of a new account: the emailed code, the backup code, "don't trust". */
async function firstSignIn(account, label) {
  await freshBrowser();
  const auth = newAuthorization();
  await open(auth.url);
  const before = await emailAndPassword(label, account);
  await checkPage(`code (${label})`, 'Check your email');
  await typeEmailedCode(before, account);
  await checkPage(`backup code (${label})`, 'Save your backup code');
  const backupCode = await readBackupCode(`backup code (${label})`);
  await saveBackupCodeAndContinue();
  await checkPage(`trust this device? (${label})`, 'Trust this device?');
  await navigateBy(button("Don't trust this device"));
  await expectCallback(auth, label);
  return backupCode;
}

step('S1 too many codes sent: the page offers the backup code, and it signs in', async () => {
  const account = createAccount({ email: 'sends@example.com', name: 'Sam Sends' });
  const backupCode = await firstSignIn(account, 'sends: first sign-in');
  // Sign-ins left at the code page use up the hour's emailed codes (one each).
  for (let n = 2; n <= SENDS_PER_HOUR; n += 1) {
    await freshBrowser();
    await open(newAuthorization().url);
    await emailAndPassword(`sends: sign-in ${n}`, account);
    await checkPage(`code (sends: sign-in ${n})`, 'Check your email');
  }
  const mails = sink.to(account.email).length;

  await freshBrowser();
  const auth = newAuthorization();
  await open(auth.url);
  await emailAndPassword('sends: over the limit', account);
  await checkPage('too many codes sent', 'Too many codes sent');
  assert.equal(sink.to(account.email).length, mails, 'no code beyond the limit');
  const text = await visibleText(2000);
  assert.match(text, /You can ask for a new code at \d\d:\d\d UTC \(in \d+ minutes?\)/, text);
  assert.match(text, /A code we sent for an earlier sign-in does not work here/, text);
  assert.equal(await page.getByLabel('Code', { exact: true }).count(), 0, 'no code box: no code of this sign-in');
  assert.equal(await button('Send a new code').count(), 1, 'a way to retry');

  await navigateBy(link('Use a backup code'));
  await checkPage('code (backup, after too many codes)', 'Enter your backup code');
  await page.getByLabel('Backup code').fill(backupCode);
  await navigateBy(button('Continue'));
  await checkPage('backup code (after too many codes)', /^You used your backup code/);
  await readBackupCode('backup code (after too many codes)');
  await saveBackupCodeAndContinue();
  await expectCallback(auth, 'backup-code sign-in after too many codes');
});

step('S2 an authenticator-app account is offered "Stay signed in", and stays signed in', async () => {
  const account = createAccount({ email: 'stay@example.com', name: 'Stella Stay' });
  await firstSignIn(account, 'stay: first sign-in');

  await open(new URL('/account/security', ISSUER).href);
  await checkPage('security (stay)', 'Security');
  await navigateBy(link('Set up an authenticator app'));
  await checkPage('set-up (stay)', 'Set up your authenticator app');
  assert.match(await visibleText(3000), /Turning it on removes your trusted devices/);
  const secret = base32Decode((await page.getByRole('code').first().innerText()).trim());
  let lastStep = stepAt();
  await page.getByLabel('Code from the app').fill(codeAtStep(secret, lastStep));
  await navigateBy(button('Turn on'));
  await checkPage('security (stay: app on)', 'Security');
  await expectNotice('Your trusted devices were removed');

  await signOut('stay: after set-up');
  const auth = newAuthorization();
  await open(auth.url);
  await emailAndPassword('stay: app sign-in', account);
  await checkPage('code (stay: app)', 'Enter the code from your authenticator app');
  lastStep += 1;
  await page.getByLabel('Code', { exact: true }).fill(codeAtStep(secret, lastStep));
  await navigateBy(button('Continue'));

  await checkPage('stay signed in?', 'Stay signed in on this browser?');
  assert.equal(await button('Trust this device').count(), 0, 'no trusted-device promise for an app account');
  const promise = await visibleText(2000);
  assert.match(promise, /you will not need to sign in again on this browser until \d+ \w+ \d{4} at \d\d:\d\d UTC, even if you close it/);
  await navigateBy(button('Stay signed in for 30 days'));
  await expectCallback(auth, 'stay signed in');

  // The promise: the session cookie outlives the browser, for 30 days.
  const session = (await context.cookies(ISSUER)).find((c) => c.name === 'lanyard_session');
  assert.ok(session, 'a session cookie');
  const lasts = session.expires * 1000 - Date.now();
  assert.ok(lasts > 29 * DAY_MS && lasts <= 30 * DAY_MS, `the cookie lasts 30 days (${lasts} ms)`);

  // A new sign-in in this browser is not asked again.
  const again = newAuthorization();
  // Straight on to the redirect URI, where nothing listens: the navigation itself fails,
  // and the request to the app is what counts.
  await open(again.url).catch((e) => {
    if (!/ERR_CONNECTION_REFUSED/.test(e.message)) throw e;
  });
  // Not asked again: straight back to the app.
  await expectCallback(again, 'after closing the browser, still signed in');
});

step('S3 wrong passwords: the lock mail says passwords, until when, and the ways back in', async () => {
  const account = createAccount({ email: 'locked@example.com', name: 'Lou Locked' });
  await freshBrowser();
  await open(newAuthorization().url);
  await emailAndPassword('lock: wrong password 1', { ...account, password: 'not the password' });
  await checkPage('password (lock: wrong 1)', 'Enter your password', { status: 400 });
  for (let n = 2; n <= 5; n += 1) {
    await page.getByLabel('Password', { exact: true }).fill('not the password');
    await navigateBy(button('Sign in'));
  }
  // S53f: now the right password gets the same answer.
  await page.getByLabel('Password', { exact: true }).fill(account.password);
  await navigateBy(button('Sign in'));
  await checkPage('password (lock: right password, locked)', 'Enter your password', { status: 400 });
  await expectErrorSummary('The email address or password is not right');

  const mail = await sink.waitForMail(account.email, 0);
  assert.equal(mail.subject, 'Lanyard: Too many wrong passwords');
  assert.match(mail.text, /A wrong password was entered for your account 5 times in a row\./);
  assert.match(mail.text, /paused until \d+ \w+ \d{4} at \d\d:\d\d UTC \(for 1 minute\)/);
  assert.match(mail.text, /Ways back in:\n- Wait until .*, then sign in as usual\./);
  assert.doesNotMatch(mail.text, /reset/i, 'no reset promised before it exists');
});

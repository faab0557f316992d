// Steps of the "pages" area (issue 12 items 7 and 10): the landing page, the themed 404, the
// signed-out page's way onward, an expired sign-in's way back to the app, and the time zone
// preference changing a time the account page shows.

import assert from 'node:assert/strict';

import {
  ISSUER,
  page,
  step,
  open,
  navigateBy,
  button,
  link,
  checkPage,
  expectNotice,
  expectCallback,
  emailAndPassword,
  typeEmailedCode,
  saveBackupCodeAndContinue,
  newAuthorization,
  createAccount,
  freshBrowser,
  visibleText,
} from '../lib/journey.mjs';

// Made in the first step, once the run's data dir and server exist.
let account;

/** From the code page on, for the account above: the emailed code, the backup code, "Don't trust". */
async function finishSignIn(mailsBefore, label) {
  await typeEmailedCode(mailsBefore, { email: account.email });
  if ((await page.getByLabel('I saved my backup code').count()) > 0) {
    await checkPage(`backup code (${label})`, 'Save your backup code');
    await saveBackupCodeAndContinue();
  }
  if ((await button("Don't trust this device").count()) > 0) {
    await navigateBy(button("Don't trust this device"));
  }
}

step('P1 the landing page says what this is and leads to sign-in', async () => {
  account = createAccount({ email: 'pages@example.com', name: 'Pages Person' });
  await freshBrowser();
  await open(new URL('/', ISSUER).href);
  await checkPage('landing page', 'Welcome to Lanyard');
  assert.equal(await link('discovery document').count(), 1, 'the discovery link');
  await navigateBy(link('Sign in'));
  await checkPage('email (from the landing page)', 'Sign in');
  // No app asked: the page names none.
  assert.ok(!(await visibleText(2000)).includes('to continue to'), 'no app named');
});

step('P2 an unknown address is a themed 404 page that leads home', async () => {
  await open(new URL('/no/such/page', ISSUER).href);
  await checkPage('page not found', 'Page not found', { status: 404 });
  await navigateBy(link('Go to the home page'));
  await checkPage('landing page (from the 404 page)', 'Welcome to Lanyard');
});

step("P3 an expired sign-in starts again from the app's request", async () => {
  await freshBrowser();
  const auth = newAuthorization();
  await open(auth.url);
  await checkPage('email (names the app)', 'Sign in');
  assert.match(await visibleText(2000), /to continue to Browser first-party/, 'the sign-in page names the app');
  // The flow is gone by the time the form is posted (it expired, or another tab used it up).
  // Waiting out its lifetime has no place in a test, so the page's flow id is replaced.
  await page.locator('input[name="flow"]').evaluate((input) => {
    input.value = 'expired-flow';
  });
  await page.getByLabel('Email address').fill(account.email);
  await navigateBy(button('Continue'));
  await checkPage('sign-in expired (app known)', 'Your sign-in has expired', { status: 400 });
  await navigateBy(link('Start again'));
  const mailsBefore = await emailAndPassword('after starting again', account);
  await finishSignIn(mailsBefore, 'after starting again');
  await expectCallback(auth, 'started again');
});

step('P4 sign-out offers Cancel, then "You have signed out" leads on', async () => {
  await open(new URL('/logout', ISSUER).href);
  await checkPage('sign out? (pages)', 'Do you want to sign out?');
  await navigateBy(link('Cancel and stay signed in'));
  await checkPage('account page (after Cancel)', 'Your account');
  await open(new URL('/logout', ISSUER).href);
  await navigateBy(button('Sign out'));
  await checkPage('signed out (pages)', 'You have signed out');
  await navigateBy(link('Sign in again'));
  await checkPage('email (sign in again)', 'Sign in');
  // Signed out, the app's finished request is not offered again: the account page is.
  await page.locator('input[name="flow"]').evaluate((input) => {
    input.value = 'expired-flow';
  });
  await navigateBy(button('Continue'));
  await checkPage('sign-in expired (no app)', 'Your sign-in has expired', { status: 400 });
  await navigateBy(link('Go to your account'));
  await checkPage('email (account sign-in)', 'Sign in');
});

step('P5 the time zone preference changes the times the pages show', async () => {
  const mailsBefore = await emailAndPassword('account sign-in (time zone)', account);
  await finishSignIn(mailsBefore, 'time zone');
  await checkPage('account page (UTC)', 'Your account');
  const before = await visibleText(4000);
  const utc = before.match(/It is now (\d\d):(\d\d) UTC there/);
  assert.ok(utc, `the account page shows the time in UTC: ${before}`);
  await page.getByRole('combobox', { name: 'Time zone' }).selectOption('Asia/Tokyo');
  await navigateBy(button('Save time zone'));
  await checkPage('account page (Asia/Tokyo)', 'Your account');
  await expectNotice('Your time zone is saved.');
  const after = await visibleText(4000);
  const tokyo = after.match(/It is now (\d\d):(\d\d) JST there/);
  assert.ok(tokyo, `the account page shows the time in Tokyo: ${after}`);
  const minutes = (m) => Number(m[1]) * 60 + Number(m[2]);
  const shift = (minutes(tokyo) - minutes(utc) + 24 * 60) % (24 * 60);
  // Nine hours ahead, give or take the minute that may have passed between the two pages.
  assert.ok(shift >= 9 * 60 && shift <= 9 * 60 + 1, `Tokyo is 9 hours ahead of UTC (shift ${shift} min)`);
  await open(new URL('/account/security', ISSUER).href);
  await checkPage('security (times in Asia/Tokyo)', 'Security');
  assert.match(await visibleText(4000), /Last generated .* JST\./, 'the security page shows Tokyo time');
});

// Account pages (issue 12 items 5, 6, 8, 9): a missed "I saved my backup code" tick keeps
// the code; a new backup code and a new token are shown from one-time pages that a reload
// can not show again or re-create; security reductions ask first; the trusted device list
// marks "This device"; the token page names its API and shows every error at once.

import assert from 'node:assert/strict';

import {
  ISSUER,
  button,
  checkPage,
  createAccount,
  emailAndPassword,
  expectErrorSummary,
  expectNotice,
  freshBrowser,
  link,
  navigateBy,
  open,
  page,
  readBackupCode,
  saveBackupCodeAndContinue,
  step,
  typeEmailedCode,
} from '../lib/journey.mjs';

const account = { email: 'account-pages@example.com', name: 'Account Pages' };
const at = (path) => new URL(path, ISSUER).href;

/** Submits the current page's form without ticking its box (novalidate: the server decides). */
async function continueWithoutTick() {
  await navigateBy(button('Continue'));
}

async function tokenCount() {
  const response = await page.request.get(at('/account/pats'), { headers: { accept: 'application/json' } });
  assert.equal(response.status(), 200, 'the token list as JSON');
  return (await response.json()).length;
}

step('A1 a missed tick keeps the backup code at sign-in; trust this device', async () => {
  Object.assign(account, createAccount(account));
  await freshBrowser();
  await open(at('/account/security'));
  const mailsBefore = await emailAndPassword('account pages', account);
  await checkPage('code (account pages)', 'Check your email');
  await typeEmailedCode(mailsBefore, account);
  await checkPage('backup code (account pages, first sign-in)', 'Save your backup code');
  const shown = await readBackupCode('backup code (account pages, first sign-in)');
  await continueWithoutTick();
  await checkPage('backup code (tick missed at sign-in)', /Save your backup code/, { status: 400 });
  await expectErrorSummary('It is the same code as before');
  assert.equal(await readBackupCode('backup code (tick missed at sign-in)'), shown, 'the same code again');
  await saveBackupCodeAndContinue();
  await checkPage('trust this device? (account pages)', 'Trust this device?');
  await navigateBy(button('Trust this device'));
  await checkPage('security (this device)', 'Security');
  assert.equal(await page.locator('.tag', { hasText: 'This device' }).count(), 1, '"This device" is marked');
});

step('A2 a new backup code: confirm, shown once, a missed tick keeps it', async () => {
  await navigateBy(link('Generate a new backup code'));
  await checkPage('confirm a new backup code', 'Generate a new backup code?');
  await navigateBy(link('Cancel'));
  await checkPage('security (cancelled)', 'Security');
  await navigateBy(link('Generate a new backup code'));
  await navigateBy(button('Generate a new backup code'));
  await checkPage('new backup code (one-time page)', 'Your new backup code');
  const code = await readBackupCode('new backup code (one-time page)');
  await continueWithoutTick();
  await checkPage('new backup code (tick missed)', 'Your new backup code', { status: 400 });
  await expectErrorSummary('It is the same code as before');
  assert.equal(await readBackupCode('new backup code (tick missed)'), code, 'the same code again');
  await saveBackupCodeAndContinue();
  await checkPage('security (backup code saved)', 'Security');
  await expectNotice('Your new backup code is saved');
  // Back to the one-time page: nothing to show, nothing made.
  await page.goBack({ waitUntil: 'load' });
  const h1 = await page.getByRole('heading', { level: 1 }).first().innerText();
  assert.ok(!/Your new backup code/.test(h1), `Back shows no code (h1 ${JSON.stringify(h1)})`);
  assert.equal(await page.getByText(code).count(), 0, 'the code is not shown again');
});

step('A3 remove this device: confirm, notice names it', async () => {
  await open(at('/account/security'));
  await checkPage('security (before removing this device)', 'Security');
  await navigateBy(page.getByRole('link', { name: /^Remove .+ \(this device\)$/ }));
  await checkPage('confirm removing this device', /^Remove ‘.+’\?$/);
  assert.ok((await page.locator('main').innerText()).includes('This is the browser you are using now'));
  await navigateBy(button('Remove this device'));
  await checkPage('security (this device removed)', 'Security');
  await expectNotice('(this device) removed');
  assert.equal(await page.locator('.tag', { hasText: 'This device' }).count(), 0);
});

step('A4 a personal access token: every error at once, shown once, refresh creates none, revoke asks', async () => {
  await open(at('/account/pats'));
  await checkPage('personal access tokens', 'Personal access tokens');
  assert.ok((await page.locator('main').innerText()).includes('Example API'), 'scopes under their API');
  await navigateBy(button('Create token'));
  await checkPage('personal access tokens (errors)', 'Personal access tokens', { status: 400 });
  await expectErrorSummary('Enter a name');
  await expectErrorSummary('Choose at least one scope');

  await page.getByLabel('Name').fill('laptop');
  await page.getByLabel(/Read your repositories/).check();
  await page.getByLabel('Expires after').selectOption('30');
  await navigateBy(button('Create token'));
  await checkPage('new token (one-time page)', 'Your new token');
  const token = (await page.getByLabel('Token').inputValue()).trim();
  assert.match(token, /^\S{20,}$/, 'the token in its field');
  const href = await link('Download as a text file').getAttribute('href');
  assert.ok(href.startsWith('data:text/plain') && href.includes(token), 'download link holds the token');
  assert.equal(await tokenCount(), 1);

  await page.reload({ waitUntil: 'load' });
  await checkPage('new token (reloaded)', 'This token was shown once');
  assert.ok((await page.locator('main').innerText()).includes('laptop'));
  assert.equal(await page.getByText(token).count(), 0, 'no token after a reload');
  assert.equal(await tokenCount(), 1, 'refresh after creating a token creates none');

  await navigateBy(link('Back to your tokens'));
  await checkPage('personal access tokens (one token)', 'Personal access tokens');
  await navigateBy(link('Revoke laptop'));
  await checkPage('confirm revoking a token', 'Revoke ‘laptop’?');
  await navigateBy(button('Revoke this token'));
  await checkPage('personal access tokens (revoked)', 'Personal access tokens');
  await expectNotice('Token ‘laptop’ revoked');
  assert.equal(await tokenCount(), 0);
  // Back to the confirmation: it revokes nothing again and says so.
  await page.goBack({ waitUntil: 'load' });
  await checkPage('personal access tokens (back after revoking)', 'Personal access tokens');
});

// Issue 12 item 3: the password change page refuses a weak password with the reason and
// changes it to a good one, which shows a notice and sends the notice mail.

import assert from 'node:assert/strict';

import {
  ISSUER,
  sink,
  page,
  step,
  open,
  navigateBy,
  button,
  link,
  checkPage,
  expectErrorSummary,
  expectNotice,
  emailAndPassword,
  typeEmailedCode,
  saveBackupCodeAndContinue,
  createAccount,
  freshBrowser,
} from '../lib/journey.mjs';

const account = createAccount({ email: 'passwords@example.com', name: 'Pat Words' });
const NEW_PASSWORD = 'violet tractor humming quietly';

step('P1 change the password: a weak one is refused with the reason, a good one is taken', async () => {
  await freshBrowser();
  await open(new URL('/account/password', ISSUER).href);
  const mailsBefore = await emailAndPassword('password change', account);
  await typeEmailedCode(mailsBefore, account);
  await checkPage('backup code (password change account)', 'Save your backup code');
  await saveBackupCodeAndContinue();
  if ((await page.getByRole('heading', { level: 1 }).innerText()).includes('Trust this device')) {
    await navigateBy(button("Don't trust this device"));
  }
  if (!page.url().endsWith('/account/password')) {
    await navigateBy(link('Change your password'));
  }
  await checkPage('change password', 'Change your password');

  // A common password: refused with zxcvbn's reason, never echoed back.
  await page.getByLabel('New password', { exact: true }).fill('password123');
  await page.getByLabel('New password again', { exact: true }).fill('password123');
  await navigateBy(button('Change password'));
  await checkPage('change password (error: too easy to guess)', 'Change your password', { status: 400 });
  await expectErrorSummary('This password is too easy to guess.');
  assert.ok(!(await page.content()).includes('password123'), 'the refused password is not on the page');

  // The two fields differ.
  await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel('New password again', { exact: true }).fill(`${NEW_PASSWORD}!`);
  await navigateBy(button('Change password'));
  await checkPage('change password (error: not the same)', 'Change your password', { status: 400 });
  await expectErrorSummary('The two passwords are not the same.');

  const before = sink.to(account.email).length;
  await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel('New password again', { exact: true }).fill(NEW_PASSWORD);
  await navigateBy(button('Change password'));
  await checkPage('security (password changed)', 'Security');
  await expectNotice('Your password is changed.');
  const mail = await sink.waitForMail(account.email, before);
  assert.match(mail.subject, /your password was changed/i, 'the notice mail');
  assert.ok(mail.text.includes('If this was not you'), 'the notice says what to do');
});

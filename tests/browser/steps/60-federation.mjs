// "Sign in with your organization" (issue 14) in the browser, against a real OpenID provider:
// the test IdP run.sh started (tests/idp, panva's oidc-provider), which run.sh made the
// provider of organization acme ("Acme Corp", verified domain corp.example) through the CLI,
// with one user, ann-fed (ann@corp.example, email_verified true, "Ann Fed").
//
// axe runs on every Lanyard page on the way (checkPage); the IdP's own pages are not ours and
// are not checked, only asserted to be the IdP's.

import assert from 'node:assert/strict';

import {
  ISSUER,
  IDP_ISSUER,
  THIRD_PARTY_CLIENT_ID,
  page,
  sink,
  step,
  open,
  navigateBy,
  button,
  link,
  checkPage,
  currentH1,
  expectCallback,
  newAuthorization,
  freshBrowser,
  visibleText,
  pathOf,
} from '../lib/journey.mjs';

const EMAIL = 'ann@corp.example';
const SUB = 'ann-fed';
const ORG_NAME = 'Acme Corp';

/** The email page, then the organization's page (checked). */
async function toOrganizationPage(label) {
  await checkPage(`email (${label})`, 'Sign in');
  await page.getByLabel('Email address').fill(EMAIL);
  await navigateBy(button('Continue'));
  await checkPage(`organization (${label})`, 'Sign in with your organization');
  const text = await visibleText(2000);
  assert.match(text, new RegExp(`Signing in as ${EMAIL}`), text);
  assert.match(text, new RegExp(`${ORG_NAME} signs in people with this email address`), text);
  // Not a password page: the organization's sign-in comes first. Its sign-in is optional
  // here (set-sso without --require), so the password is offered as the other way.
  assert.equal(await page.getByLabel('Password', { exact: true }).count(), 0, 'no password box');
  assert.equal(await link('Use your password instead').count(), 1, 'the password as the other way');
}

/** "Continue to Acme Corp": the browser ends on the IdP's sign-in page (not ours: no axe). */
async function toIdp(label) {
  await navigateBy(button(`Continue to ${ORG_NAME}`));
  const at = new URL(page.url());
  assert.equal(at.origin, IDP_ISSUER, `${label}: on the IdP's page, not ${pathOf(page.url())}`);
  assert.equal(await currentH1(), 'Sign in', `${label}: the IdP's sign-in page`);
}

step('F1 sign in with your organization: email, organization page, the IdP, back at the app', async () => {
  await freshBrowser();
  const auth = newAuthorization();
  await open(auth.url);
  await toOrganizationPage('organization sign-in');
  await toIdp('organization sign-in');
  await page.getByLabel('User (sub)').fill(SUB);
  // The IdP answers our callback; the callback signs ann in (a new account, just in time)
  // and goes on with the app's request: straight back to the first-party app.
  await navigateBy(button('Sign in'));
  const claims = await expectCallback(auth, 'organization sign-in');
  assert.deepEqual(claims.amr, ['fed'], `amr of an organization sign-in: ${JSON.stringify(claims)}`);
  assert.equal(claims.email, EMAIL, 'the account has the email the IdP asserted');
  assert.equal(sink.to(EMAIL).length, 0, 'no emailed code for an organization sign-in');
});

step('F2 signed in through the organization: consent for a third-party app, the account page', async () => {
  // The session from F1: no email page, no IdP, the consent page at once.
  const auth = newAuthorization(THIRD_PARTY_CLIENT_ID);
  await open(auth.url);
  await checkPage('consent (organization account)', /^Allow .+ to use your .+ account\?$/);
  await navigateBy(button('Allow'));
  const claims = await expectCallback(auth, 'consent (organization account)');
  assert.deepEqual(claims.amr, ['fed'], 'the session is still the organization sign-in');

  await open(new URL('/account', ISSUER).href);
  await checkPage('account page (organization account)', 'Your account');
  const text = await visibleText(4000);
  assert.ok(text.includes(EMAIL), `the account page shows ${EMAIL}: ${text}`);
});

step("F3 cancelled at the organization's sign-in: a clear error page that leads back", async () => {
  // Forget both sessions (ours and the IdP's), so the IdP asks again.
  await freshBrowser();
  const auth = newAuthorization();
  await open(auth.url);
  await toOrganizationPage('cancelled');
  await toIdp('cancelled');
  await navigateBy(button('Cancel'));
  assert.equal(new URL(page.url()).origin, ISSUER, `back at Lanyard, not ${pathOf(page.url())}`);
  await checkPage('organization sign-in did not finish', "Your organization's sign-in did not finish", {
    status: 400,
  });
  const text = await visibleText(2000);
  assert.match(text, /Nothing was changed here/, text);
  assert.ok(!text.includes('The user cancelled'), "the IdP's own words stay out");
  await navigateBy(link('Start again'));
  await checkPage('email (after the cancelled sign-in)', 'Sign in');
  assert.match(await visibleText(2000), /to continue to Browser first-party/, "the app's request again");
});

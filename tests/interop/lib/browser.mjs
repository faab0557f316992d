import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

// A tiny scripted "browser" for Lanyard's server-rendered sign-in pages: a cookie jar,
// manual redirect handling and regex-based form parsing. Deliberately dependency-free.

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_STEPS = 25;

/** Unescapes the HTML entities a template engine emits in attribute values. */
export function unescapeHtml(s) {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos|#39);/gi, (m, e) => {
    const lower = e.toLowerCase();
    if (lower === 'amp') return '&';
    if (lower === 'lt') return '<';
    if (lower === 'gt') return '>';
    if (lower === 'quot') return '"';
    if (lower === 'apos') return "'";
    if (lower.startsWith('#x')) return String.fromCodePoint(parseInt(lower.slice(2), 16));
    if (lower.startsWith('#')) return String.fromCodePoint(parseInt(lower.slice(1), 10));
    return m;
  });
}

/** Attributes of one tag (the text between the tag name and `>`), in any order. */
export function parseAttributes(text) {
  const attrs = {};
  const re = /([^\s"'=<>\/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  let m;
  while ((m = re.exec(text)) !== null) {
    const value = m[2] ?? m[3] ?? m[4] ?? '';
    attrs[m[1].toLowerCase()] = unescapeHtml(value);
  }
  return attrs;
}

/**
 * Every `<form>` on a page: method, absolute action URL, hidden inputs, visible input names
 * and submit buttons ({name, value}).
 */
export function parseForms(html, pageUrl) {
  const forms = [];
  const formRe = /<form\b([^>]*)>([\s\S]*?)<\/form>/gi;
  let m;
  while ((m = formRe.exec(html)) !== null) {
    const attrs = parseAttributes(m[1]);
    const body = m[2];
    const hidden = [];
    const fields = [];
    const buttons = [];
    for (const input of body.matchAll(/<input\b([^>]*)>/gi)) {
      const a = parseAttributes(input[1]);
      if (!a.name) continue;
      if ((a.type ?? 'text').toLowerCase() === 'hidden') hidden.push([a.name, a.value ?? '']);
      else fields.push(a.name);
    }
    for (const button of body.matchAll(/<button\b([^>]*)>/gi)) {
      const a = parseAttributes(button[1]);
      if (a.name) buttons.push({ name: a.name, value: a.value ?? '' });
    }
    forms.push({
      method: (attrs.method ?? 'get').toLowerCase(),
      action: new URL(attrs.action ?? '', pageUrl),
      hidden,
      fields,
      buttons,
    });
  }
  return forms;
}

/** Visible text of a page, shortened, for assertion messages. */
export function pageText(html, max = 400) {
  return html
    .replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, max);
}

/** Stores `name=value` pairs from Set-Cookie and sends them back (one host only). */
export class CookieJar {
  #cookies = new Map();

  store(response) {
    for (const header of response.headers.getSetCookie()) {
      const [pair, ...attrs] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => {
        const [k, v = ''] = a.trim().split('=');
        const key = k.toLowerCase();
        if (key === 'max-age') return Number(v) <= 0;
        if (key === 'expires') return Date.parse(v) <= Date.now();
        return false;
      });
      if (expired || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header() {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  names() {
    return [...this.#cookies.keys()];
  }

  /** fetch() without following redirects, with the jar's cookies. */
  async fetch(url, init = {}) {
    const headers = new Headers(init.headers ?? {});
    const cookie = this.header();
    if (cookie) headers.set('cookie', cookie);
    if (!headers.has('user-agent')) headers.set('user-agent', 'lanyard-interop/1 (openid-client)');
    const response = await fetch(url, {
      ...init,
      headers,
      redirect: 'manual',
      signal: init.signal ?? AbortSignal.timeout(15_000),
    });
    this.store(response);
    return response;
  }
}

/** Submits a form as a browser would (urlencoded POST with an Origin header). */
async function submit(jar, form, extra) {
  const body = new URLSearchParams(form.hidden);
  for (const [k, v] of Object.entries(extra)) body.append(k, v);
  if (form.method !== 'post') throw new Error(`expected a POST form, got ${form.method} ${form.action}`);
  return jar.fetch(form.action, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: form.action.origin,
    },
    body,
  });
}

/**
 * Answers one sign-in page — email, password, the second step's code, "I saved my backup
 * code", "Trust this device?" — and returns the server's response, or null when `form` is
 * not a sign-in page. Records the pages in `ctx.seen` / `ctx.secondStep`.
 */
async function answerSignInPage(jar, form, ctx) {
  if (form.fields.includes('email')) {
    ctx.seen.push('email');
    return submit(jar, form, { email: ctx.email });
  }
  if (form.fields.includes('password')) {
    ctx.seen.push('password');
    ctx.before = ctx.readCode ? await ctx.readCode.snapshot() : null;
    return submit(jar, form, { password: ctx.password });
  }
  if (form.fields.includes('code')) {
    if (!ctx.readCode) throw new Error(`a code page but no readCode (trail: ${ctx.trail.join(' → ')})`);
    ctx.secondStep.push('code');
    return submit(jar, form, { code: await ctx.readCode(ctx.before) });
  }
  if (form.fields.includes('saved')) {
    ctx.secondStep.push('backup-code');
    return submit(jar, form, { saved: 'yes' });
  }
  if (form.buttons.some((b) => b.name === 'trust')) {
    ctx.secondStep.push('trust');
    return submit(jar, form, { trust: ctx.trust });
  }
  return null;
}

/**
 * Drives the browser side of an authorization request: follows redirects, fills in the
 * email and password pages, the second step (the emailed code from `readCode`, "I saved my
 * backup code", "Don't trust this device") and answers the consent page, until the server
 * redirects to `redirectUri`. Returns the callback URL plus the kinds of pages seen on the
 * way ('email', 'password', 'consent') and, apart, the second step's ('code',
 * 'backup-code', 'trust').
 */
export async function runAuthorization(authorizationUrl, {
  jar = new CookieJar(),
  redirectUri,
  email,
  password,
  decision = 'allow',
  readCode,
  trust = 'no',
}) {
  const ctx = { seen: [], secondStep: [], before: null, trail: [], email, password, readCode, trust };
  const { seen, secondStep, trail } = ctx;
  let response = await jar.fetch(authorizationUrl);
  let url = new URL(authorizationUrl);
  for (let step = 0; step < MAX_STEPS; step++) {
    trail.push(`${response.status} ${url.pathname}`);
    if (REDIRECT_STATUSES.has(response.status)) {
      const location = response.headers.get('location');
      if (!location) throw new Error(`redirect without Location from ${url}`);
      url = new URL(location, url);
      await response.arrayBuffer();
      if (url.href.startsWith(redirectUri)) {
        return { callbackUrl: url, pages: seen, secondStep, jar, trail, status: response.status };
      }
      response = await jar.fetch(url);
      continue;
    }
    const html = await response.text();
    if (response.status !== 200) {
      throw new Error(`HTTP ${response.status} at ${url.pathname}: ${pageText(html)} (trail: ${trail.join(' → ')})`);
    }
    // The code page also has a small "Send a new code" form; the first form is the question.
    const forms = parseForms(html, url).filter((f) => f.method === 'post');
    if (forms.length < 1) {
      throw new Error(`expected a POST form at ${url.pathname}: ${pageText(html)}`);
    }
    const [form] = forms;
    const answered = await answerSignInPage(jar, form, ctx);
    if (answered) {
      response = answered;
    } else if (form.buttons.some((b) => b.name === 'decision' && b.value === decision)) {
      if (seen.includes('consent')) {
        throw new Error(`the consent page came back after decision=${decision} (trail: ${trail.join(' → ')})`);
      }
      seen.push('consent');
      response = await submit(jar, form, { decision });
    } else {
      throw new Error(`unrecognised page at ${url.pathname}: ${pageText(html)}`);
    }
    url = form.action;
  }
  throw new Error(`no redirect to ${redirectUri} after ${MAX_STEPS} steps (trail: ${trail.join(' → ')})`);
}

/**
 * The person's side of the device flow (RFC 8628 §3.3): opens `verificationUrl` (the
 * `verification_uri_complete` from the device authorization response, or the plain
 * `verification_uri`), signs in when asked, enters `userCode` on the code page, and answers
 * the confirmation page with `decision` ('approve' or 'deny'). Returns the pages seen
 * ('email', 'password', 'device-code', 'device-confirm'), the code shown for comparison on
 * the confirmation page, and the outcome the last page states ('approved' or 'denied').
 */
export async function runDeviceApproval(verificationUrl, {
  jar = new CookieJar(),
  userCode,
  email,
  password,
  decision = 'approve',
  readCode,
  trust = 'no',
}) {
  const ctx = { seen: [], secondStep: [], before: null, trail: [], email, password, readCode, trust };
  const { seen, trail } = ctx;
  let shownCode = null;
  let response = await jar.fetch(verificationUrl);
  let url = new URL(verificationUrl);
  for (let step = 0; step < MAX_STEPS; step++) {
    trail.push(`${response.status} ${url.pathname}`);
    if (REDIRECT_STATUSES.has(response.status)) {
      const location = response.headers.get('location');
      if (!location) throw new Error(`redirect without Location from ${url}`);
      url = new URL(location, url);
      await response.arrayBuffer();
      response = await jar.fetch(url);
      continue;
    }
    const html = await response.text();
    if (response.status !== 200) {
      throw new Error(`HTTP ${response.status} at ${url.pathname}: ${pageText(html)} (trail: ${trail.join(' → ')})`);
    }
    const forms = parseForms(html, url).filter((f) => f.method === 'post');
    if (forms.length === 0) {
      // The last page: no form, it says what happened.
      const outcome = /Your device is connected/.test(html) ? 'approved' : /You denied access/.test(html) ? 'denied' : null;
      if (!outcome) throw new Error(`unexpected page at ${url.pathname}: ${pageText(html)}`);
      return { pages: seen, secondStep: ctx.secondStep, shownCode, outcome, jar, trail };
    }
    const [form] = forms;
    const answered = await answerSignInPage(jar, form, ctx);
    if (answered) {
      response = answered;
    } else if (form.fields.includes('user_code')) {
      if (seen.includes('device-code')) {
        throw new Error(`the code page came back: ${pageText(html)} (trail: ${trail.join(' → ')})`);
      }
      seen.push('device-code');
      response = await submit(jar, form, { user_code: userCode });
    } else if (form.buttons.some((b) => b.name === 'decision' && b.value === decision)) {
      seen.push('device-confirm');
      // The code is shown in groups (<span>s, <wbr> between them): its text is the code.
      shownCode = html.match(/<code>(.*?)<\/code>/s)?.[1]?.replace(/<[^>]*>/g, '') ?? null;
      response = await submit(jar, form, { decision });
    } else {
      throw new Error(`unrecognised page at ${url.pathname}: ${pageText(html)}`);
    }
    url = form.action;
  }
  throw new Error(`the device pages did not finish after ${MAX_STEPS} steps (trail: ${trail.join(' → ')})`);
}

/**
 * Reads sign-in codes from the server's outbox folder (the embedded default writes each mail
 * as an .eml file there). `snapshot()` lists the files before a sign-in; calling the reader
 * with that list returns the code in the one new mail.
 */
export function outboxCodeReader(folder) {
  const list = async () => {
    try {
      return (await readdir(folder)).filter((f) => f.endsWith('.eml'));
    } catch (e) {
      if (e.code === 'ENOENT') return [];
      throw e;
    }
  };
  const read = async (before) => {
    const known = new Set(before ?? []);
    const fresh = (await list()).filter((f) => !known.has(f));
    if (fresh.length !== 1) throw new Error(`expected one new mail in ${folder}, found ${fresh.length}`);
    const text = await readFile(join(folder, fresh[0]), 'utf8');
    const body = text.slice(text.indexOf('\r\n\r\n') + 4);
    const code = body.match(/\b(\d{6})\b/);
    if (!code) throw new Error(`no 6-digit code in ${fresh[0]}`);
    return code[1];
  };
  read.snapshot = list;
  return read;
}

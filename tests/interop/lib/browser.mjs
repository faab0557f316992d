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
 * Drives the browser side of an authorization request: follows redirects, fills in the
 * email and password pages and answers the consent page, until the server redirects to
 * `redirectUri`. Returns the callback URL plus the kinds of pages seen on the way
 * ('email', 'password', 'consent').
 */
export async function runAuthorization(authorizationUrl, {
  jar = new CookieJar(),
  redirectUri,
  email,
  password,
  decision = 'allow',
}) {
  const seen = [];
  const trail = [];
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
        return { callbackUrl: url, pages: seen, jar, trail, status: response.status };
      }
      response = await jar.fetch(url);
      continue;
    }
    const html = await response.text();
    if (response.status !== 200) {
      throw new Error(`HTTP ${response.status} at ${url.pathname}: ${pageText(html)} (trail: ${trail.join(' → ')})`);
    }
    const forms = parseForms(html, url).filter((f) => f.method === 'post');
    if (forms.length !== 1) {
      throw new Error(`expected one POST form at ${url.pathname}, found ${forms.length}: ${pageText(html)}`);
    }
    const [form] = forms;
    if (form.fields.includes('email')) {
      seen.push('email');
      response = await submit(jar, form, { email });
    } else if (form.fields.includes('password')) {
      seen.push('password');
      response = await submit(jar, form, { password });
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

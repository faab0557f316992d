import { SMTPServer } from 'smtp-server';

// A real SMTP server on loopback (nodemailer's smtp-server) that keeps every message in memory.
// No TLS (the server under test is told smtp_tls = none), no authentication required.

/** Decodes one RFC 2047 encoded-word run in a header ("=?UTF-8?Q?...?=" / "?B?"). */
function decodeWords(value) {
  return value.replace(/=\?([^?]+)\?([bq])\?([^?]*)\?=\s*/gi, (_, _charset, enc, text) => {
    if (enc.toLowerCase() === 'b') return Buffer.from(text, 'base64').toString('utf8');
    const bytes = text.replace(/_/g, ' ').replace(/=([0-9a-f]{2})/gi, (_m, h) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  });
}

function decodeQuotedPrintable(body) {
  const bytes = body
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9a-f]{2})/gi, (_m, h) => String.fromCharCode(parseInt(h, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

/**
 * A single-part text message (what Lanyard sends: text/plain UTF-8) as {headers, text}.
 * Multipart mail is not expected; its raw body is returned as text.
 */
export function parseMessage(raw) {
  const split = raw.search(/\r?\n\r?\n/);
  const head = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split).replace(/^\r?\n\r?\n/, '');
  const headers = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const encoding = (headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  let text = body;
  if (encoding === 'base64') text = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  else if (encoding === 'quoted-printable') text = decodeQuotedPrintable(body);
  return { headers, subject: decodeWords(headers.subject ?? ''), text: text.replace(/\r\n/g, '\n') };
}

export async function startSmtpSink() {
  const messages = [];
  const waiters = new Set();
  const notify = () => {
    for (const w of waiters) w();
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    secure: false,
    logger: false,
    disableReverseLookup: true,
    size: 1024 * 1024,
    onData(stream, session, callback) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('error', callback);
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const parsed = parseMessage(raw);
        messages.push({
          to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
          from: session.envelope.mailFrom?.address ?? '',
          raw,
          ...parsed,
        });
        callback();
        notify();
      });
    },
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (e) => console.error(`smtp sink: ${e.message}`));
  const { port } = server.server.address();

  /** Mails to `address`, in arrival order. */
  const to = (address) => messages.filter((m) => m.to.includes(address.toLowerCase()));

  /** Waits (bounded) until `address` has received more than `after` mails; returns mail number after+1. */
  async function waitForMail(address, after, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const mails = to(address);
      if (mails.length > after) return mails[after];
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `no mail #${after + 1} to ${address} within ${timeoutMs} ms (the sink has ${messages.length} in all)`,
        );
      }
      await new Promise((resolve) => {
        const timer = setTimeout(done, Math.min(left, 250));
        function done() {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        waiters.add(done);
      });
    }
  }

  const close = () =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, 3000);
      server.close(() => {
        clearTimeout(timer);
        resolve();
      });
    });

  return { port, messages, to, waitForMail, close };
}

/** The 6-digit sign-in code in a mail's text (the code stands on its own line). */
export function codeIn(mail) {
  const m = mail.text.match(/^\s*(\d{6})\s*$/m);
  if (!m) throw new Error(`no 6-digit code on its own line in the mail "${mail.subject}": ${mail.text.slice(0, 300)}`);
  return m[1];
}

import { spawn } from 'node:child_process';
import { openSync, closeSync, writeFileSync } from 'node:fs';

// Starts `lanyard serve` (the binary run.sh prepared the data dir for) with the SMTP settings
// pointing at the test's sink, waits for /healthz, and stops it again.

export async function startServer({ bin, issuer, smtpPort, logPath, pidPath, readyTimeoutMs = 20_000 }) {
  const env = {
    ...process.env,
    LANYARD_MAIL__TRANSPORT: 'smtp',
    LANYARD_MAIL__SMTP_HOST: '127.0.0.1',
    LANYARD_MAIL__SMTP_PORT: String(smtpPort),
    LANYARD_MAIL__SMTP_TLS: 'none',
  };
  const logFd = openSync(logPath, 'a');
  const child = spawn(bin, ['serve'], { env, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });
  await new Promise((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  if (pidPath) writeFileSync(pidPath, `${child.pid}\n`);

  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exited) throw new Error(`lanyard serve exited during start-up (${JSON.stringify(exited)}); see ${logPath}`);
    try {
      const r = await fetch(`${issuer}/healthz`, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`lanyard serve did not answer ${issuer}/healthz within ${readyTimeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    pid: child.pid,
    alive: () => exited === null,
    exitStatus: () => exited,
    async stop() {
      if (exited) return exited;
      const done = new Promise((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(timer);
      return exited;
    },
  };
}

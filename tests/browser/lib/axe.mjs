import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

// axe-core in the page under test. The pages' CSP (default-src 'none', no script-src) blocks
// every script the page did not bring, so page.addScriptTag() can not be used. axe is instead
// evaluated through the DevTools protocol (page.evaluate → Runtime.evaluate), which CSP does
// not govern: the pages keep their real CSP (no bypassCSP) and no request is added to them.

const require = createRequire(import.meta.url);
export const AXE_PATH = require.resolve('axe-core/axe.min.js');
const AXE_SOURCE = await readFile(AXE_PATH, 'utf8');

/** WCAG 2.0, 2.1 and 2.2 at levels A and AA (axe's tags). */
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

/**
 * Runs axe on the page as it is now; returns {violations, incomplete, passed (how many rules
 * passed)}, each rule in violations/incomplete as
 * {id, impact, help, helpUrl, nodes: [{target, html, summary}]}.
 */
export async function runAxe(page) {
  const loaded = await page.evaluate(() => typeof window.axe === 'object' && typeof window.axe.run === 'function');
  if (!loaded) {
    await page.evaluate(AXE_SOURCE);
  }
  return page.evaluate(async (tags) => {
    const result = await window.axe.run(document, {
      runOnly: { type: 'tag', values: tags },
      resultTypes: ['violations', 'incomplete'],
    });
    const simplify = (rules) =>
      rules.map((r) => ({
        id: r.id,
        impact: r.impact,
        help: r.help,
        helpUrl: r.helpUrl,
        nodes: r.nodes.map((n) => ({
          target: n.target.map(String),
          html: n.html,
          summary: n.failureSummary ?? '',
        })),
      }));
    return {
      violations: simplify(result.violations),
      incomplete: simplify(result.incomplete),
      passed: result.passes.length,
    };
  }, WCAG_TAGS);
}

/** One violation as printable lines: rule, impact, help URL, then each element. */
export function describeViolation(pageLabel, scheme, v) {
  const lines = [`[${pageLabel}] (${scheme}) ${v.id} — impact: ${v.impact} — ${v.help}`, `    help: ${v.helpUrl}`];
  for (const n of v.nodes) {
    lines.push(`    element: ${n.target.join(' ')}   ${n.html.replace(/\s+/g, ' ').slice(0, 160)}`);
    if (n.summary) lines.push(`      ${n.summary.replace(/\s*\n\s*/g, ' | ').slice(0, 400)}`);
  }
  return lines.join('\n');
}

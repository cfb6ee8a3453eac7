// What a browser fetches of the bundle, measured in Debian's Chromium against the running server:
// bytes on the wire (as sent, compressed) for a first visit (the sign-in page, then the dashboard
// it leads to) and for each other page's chunk, next to the whole bundle as one file would be
// (every wasm/js/css file of the build: uncompressed, gzip -9 and brotli, from the same build).
// Every file counted must answer 200 with exactly the bytes of the build (a fast 404 is no win).
import { test, expect, Page, Response } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';
import { ADMIN } from '../tests/helpers';

const pkg = path.resolve(__dirname, '..', '..', 'target', 'site', 'pkg');
const GOAL = 400 * 1024;

type Fetched = { file: string; wire: number; raw: number; encoding: string };

/** Records every bundle file the page fetches, checked against the build on disk. */
function recorder(page: Page) {
  const seen = new Map<string, Fetched>();
  const pending: Promise<void>[] = [];
  let lastAt = Date.now();
  page.on('response', (r: Response) => {
    const url = new URL(r.url());
    if (!url.pathname.startsWith('/pkg/')) return;
    lastAt = Date.now();
    pending.push((async () => {
      const file = path.basename(url.pathname);
      expect(r.status(), `${url.pathname} answers 200`).toBe(200);
      const body = await r.body();
      const built = fs.readFileSync(path.join(pkg, file));
      expect(body.equals(built), `${url.pathname} is the built ${file}`).toBe(true);
      const sizes = await r.request().sizes();
      const prev = seen.get(file);
      const wire = Math.max(sizes.responseBodySize, prev?.wire ?? 0);
      seen.set(file, { file, wire, raw: built.length, encoding: (await r.allHeaders())['content-encoding'] ?? 'identity' });
    })());
  });
  return {
    /** The files fetched since the last call, once no bundle file has arrived for a second
     * (the pages keep event streams open, so the network itself is never idle). */
    async take(page: Page): Promise<Fetched[]> {
      await expect(page.locator('html[data-hydrated="true"]')).toHaveCount(1);
      while (Date.now() - lastAt < 1000) await page.waitForTimeout(250);
      await Promise.all(pending.splice(0));
      const out = [...seen.values()];
      seen.clear();
      return out;
    },
  };
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
const sum = (fs: Fetched[], k: 'wire' | 'raw') => fs.reduce((a, f) => a + f[k], 0);

test('bundle bytes on the wire: first visit and each page, beside the whole bundle', async ({ page }) => {
  const rec = recorder(page);
  const lines: string[] = [];
  const row = (what: string, files: Fetched[]) => {
    const largest = [...files].sort((a, b) => b.wire - a.wire).slice(0, 3);
    const encodings = [...new Set(files.map((f) => f.encoding))].join('/');
    lines.push(`  ${what.padEnd(32)} ${kb(sum(files, 'wire')).padStart(9)} on the wire (${encodings}), ` +
      `${kb(sum(files, 'raw')).padStart(9)} uncompressed, ${String(files.length).padStart(3)} files; largest: ` +
      largest.map((f) => `${f.file} ${kb(f.wire)}`).join(', '));
  };

  await page.goto('/login');
  const signIn = await rec.take(page);
  row('sign-in page', signIn);

  await page.getByLabel('User name').fill(ADMIN.user);
  await page.locator('input[name="password"]').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Dashboard' })).toBeVisible();
  const dashboard = (await rec.take(page)).filter((f) => !signIn.some((s) => s.file === f.file));
  row('then the dashboard (new files)', dashboard);
  const firstVisit = [...signIn, ...dashboard];

  for (const [name, href] of [['Calls', '/calls'], ['Lobby', '/lobby'], ['Branding', '/branding'], ['Calendar', '/calendar'],
    ['Incidents', '/incidents'], ['Settings', '/settings'], ['Audit log', '/audit']]) {
    await page.locator(`nav a[href="${href}"]`).first().click();
    await expect(page).toHaveURL(new RegExp(`${href}$`));
    row(`then ${name} (new files)`, await rec.take(page));
  }

  // The baseline from the same build: everything, as one download would carry it.
  const all = fs.readdirSync(pkg).filter((f) => /\.(wasm|js|css)$/.test(f));
  const size = (f: string) => (fs.existsSync(f) ? fs.statSync(f).size : NaN);
  const whole = (ext: string) => all.reduce((a, f) => a + size(path.join(pkg, f + ext)), 0);
  const [raw, gz, br] = [whole(''), whole('.gz'), whole('.br')];
  const first = sum(firstVisit, 'wire');
  console.log([
    'Browser bundle (Chromium, fresh profile, bytes of the response bodies as sent):',
    ...lines,
    `  first visit (sign-in page + dashboard): ${kb(first)} on the wire; goal <= ${kb(GOAL)}: ${first <= GOAL ? 'met' : 'NOT met'}`,
    `  baseline, the whole bundle (${all.length} files): ${kb(raw)} uncompressed, ${kb(gz)} gzip -9, ${kb(br)} brotli`,
    `  first visit / whole bundle in brotli: ${(first / br).toFixed(2)}x; / whole bundle uncompressed: ${(first / raw).toFixed(2)}x`,
  ].join('\n'));
});

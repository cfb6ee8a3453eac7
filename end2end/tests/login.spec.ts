import { test, expect } from '@playwright/test';
import { ADMIN, hydrated, login } from './helpers';

test('a wrong password is refused with a clear message and the name kept', async ({ page }) => {
  await login(page, ADMIN.user, 'definitely-wrong');
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByTestId('login-error')).toHaveText('Wrong user name or password.');
  await expect(page.getByLabel('User name')).toHaveValue(ADMIN.user);
});

test('signing in opens the dashboard with database status and the user', async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveURL(/\/login\?next=\//);
  await login(page);
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole('heading', { name: 'Dashboard' })).toBeVisible();
  await expect(page.getByTestId('current-user')).toContainText('admin');
  const db = page.getByTestId('status-row').filter({ hasText: 'Database' });
  await expect(db).toContainText('up');
  await expect(page.getByTestId('mode')).toHaveText('demo');
});

test('controls that need the browser build work once hydrated', async ({ page }) => {
  await page.goto('/login');
  await hydrated(page);
  const pw = page.locator('input[name="password"]');
  await expect(pw).toHaveAttribute('type', 'password');
  await page.getByTestId('toggle-password').click();
  await expect(pw).toHaveAttribute('type', 'text');

  await login(page);
  await hydrated(page);
  await page.getByTestId('refresh-status').click();
  await expect(page.getByTestId('refresh-count')).toHaveText('checked 1× since the page opened');
});

test('an admin sees their own sign-in in the audit log', async ({ page }) => {
  await login(page);
  await page.getByRole('link', { name: 'Audit log' }).first().click();
  await expect(page).toHaveURL(/\/audit$/);
  const rows = page.getByTestId('audit-table').locator('tbody tr');
  await expect(rows.filter({ hasText: 'login' }).first()).toContainText('admin');
});

test('logging out ends the session', async ({ page }) => {
  await login(page);
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login\?reason=signed-out/);
  await expect(page.getByText('You are signed out.')).toBeVisible();
  await page.goto('/');
  await expect(page).toHaveURL(/\/login/);
});

test.describe('in Paris', () => {
  test.use({ timezoneId: 'Europe/Paris' });
  test('the audit log shows times on the viewer\'s clock, with its offset', async ({ page }) => {
    await login(page);
    await page.goto('/audit');
    await hydrated(page);
    const when = page.getByTestId('audit-table').locator('tbody tr').first().locator('time');
    // Paris is UTC+01:00 in winter and UTC+02:00 in summer; the server alone would say "UTC".
    await expect(when).toHaveText(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC\+0[12]:00$/);
    const machine = await when.getAttribute('datetime');
    expect(machine).toMatch(/Z$|\+00:00$/);
  });
});

test('the sign-in page loads only the main bundle; each other page brings its own chunk', async ({ page }) => {
  const wasm: string[] = [];
  const notOk: string[] = [];
  page.on('response', (r) => {
    const p = new URL(r.url()).pathname;
    if (p.endsWith('.wasm')) {
      if (r.status() !== 200) notOk.push(`${p} ${r.status()}`);
      wasm.push(p.split('/').pop()!);
    }
  });
  await page.goto('/login');
  await hydrated(page);
  expect([...new Set(wasm)]).toEqual(['switchboard.wasm']);

  await login(page);
  await expect(page.getByRole('heading', { name: 'Dashboard' })).toBeVisible();
  await hydrated(page);
  // The dashboard hydrated, so its chunk (a file other than the main bundle) arrived first.
  await expect.poll(() => wasm.filter((f) => f !== 'switchboard.wasm').length).toBeGreaterThan(0);
  const afterDashboard = new Set(wasm);

  // Navigating in the browser fetches the next page's chunk, and the page works.
  await page.locator('nav a[href="/audit"]').click();
  await expect(page.getByTestId('audit-table').locator('tbody tr').first()).toBeVisible();
  await expect.poll(() => wasm.filter((f) => !afterDashboard.has(f)).length).toBeGreaterThan(0);
  expect(notOk, 'every chunk answered 200').toEqual([]);
});

test('a page whose chunk cannot be fetched (the build changed under an open page) loads afresh from the server', async ({ page }) => {
  await login(page);
  await expect(page.getByRole('heading', { name: 'Dashboard' })).toBeVisible();
  await hydrated(page);
  // As after an upgrade: this page's build directory no longer has the audit page's chunk.
  let refused = 0;
  await page.route(/split___audit_route_view.*\.wasm$/, (route) => {
    refused += 1;
    return route.fulfill({ status: 404, body: 'gone' });
  });
  let loads = 0;
  page.on('load', () => { loads += 1; });
  await page.locator('nav a[href="/audit"]').click();
  await expect(page).toHaveURL(/\/audit$/);
  await expect(page.getByTestId('audit-table').locator('tbody tr').first()).toBeVisible();
  // The page loaded afresh tries the chunk once more, fails again, and stays: no reload loop.
  await expect.poll(() => refused).toBe(2);
  await page.waitForTimeout(1500);
  expect(loads, 'one fresh load, not a loop').toBe(1);
  expect(refused).toBe(2);
});

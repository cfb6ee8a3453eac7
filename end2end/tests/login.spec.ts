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

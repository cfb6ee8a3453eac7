import { test, expect } from '@playwright/test';
import { hydrated, login } from './helpers';

// Demo mode: simulated people create @cms meetings in the simulated Exchange every 20 s;
// Switchboard writes the organiser's CMS join details into each and lists it on /calendar.
test('/calendar shows the synced CMS users and a meeting created in the simulator with its new invite', async ({ page }) => {
  test.setTimeout(60_000);
  await login(page);
  await page.goto('/calendar');
  await hydrated(page);
  await expect(page.getByTestId('calendar-sync')).toContainText('users synced');
  await expect(page.getByTestId('calendar-sync')).toContainText('carol.cook@example.com');
  // The page is read when loaded: reload until the first meeting has been handled.
  await expect(async () => {
    await page.reload();
    await expect(page.locator('[data-testid="calendar-entry"][data-action="inserted"]').first()).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 45_000 });
  await expect(page.getByTestId('calendar-log')).toContainText('join details written');
  await expect(page.getByTestId('calendar-ews')).toContainText('alice.admin@example.com');
});

// A hybrid organisation: Dave's mailbox is in Exchange Online, read and written through Graph
// (change notifications to /hooks/graph in demo mode, a delta poll every minute as the safety
// net); his @cms meetings get his join details the same way.
test('/calendar handles a meeting in Exchange Online through Graph next to the EWS mailboxes', async ({ page }) => {
  test.setTimeout(90_000);
  await login(page);
  await page.goto('/calendar');
  await hydrated(page);
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId('calendar-ews')).toContainText('Graph: dave.diver@cloud.example.com', { timeout: 1000 });
    await expect(
      page.locator('[data-testid="calendar-entry"][data-action="inserted"]').filter({ hasText: 'dave.diver@cloud.example.com' }).first(),
    ).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 75_000 });
});

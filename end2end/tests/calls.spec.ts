import { test, expect } from '@playwright/test';
import { hydrated, login } from './helpers';

test('live calls show the restricted meeting with its banner, and a guest joining raises one live', async ({ page }) => {
  await login(page);
  await page.goto('/calls');
  await hydrated(page);

  const board = page.locator('[data-testid="meeting"][data-name="Restricted Board Meeting"]');
  await expect(board.getByTestId('badge-restricted')).toBeVisible();
  await expect(board.getByTestId('banner')).toContainText('Banner shown');
  await expect(board.getByTestId('banner')).toContainText('Restricted Meeting');

  // All Hands has only internal people: no external badge, no banner.
  const allHands = page.locator('[data-testid="meeting"][data-name="All Hands"]');
  await expect(allHands).toBeVisible();
  await expect(allHands.getByTestId('badge-external')).toHaveCount(0);
  await expect(allHands.getByTestId('banner')).toContainText('No banner');

  // A guest joins in the simulated CMS; CDRs flow; the page updates by push, no reload.
  await allHands.getByTestId('demo-guest').click();
  await expect(allHands.getByTestId('leg').filter({ hasText: 'Demo Guest' })).toBeVisible();
  await expect(allHands.getByTestId('badge-external')).toBeVisible();
  await expect(allHands.getByTestId('banner')).toContainText('Banner shown: External Participant(s) in Meeting');
  await expect(page.getByTestId('banner-history')).toContainText('All Hands');
});

test('an admin changes the banner rules and is told they apply', async ({ page }) => {
  await login(page);
  await page.goto('/settings');
  await hydrated(page);
  const form = page.getByTestId('banner-form');
  await form.locator('input[name="duration"]').fill('forever');
  await form.getByRole('button', { name: 'Save rules' }).click();
  await expect(page.getByTestId('settings-result')).toContainText('Duration must be a number of seconds');
  await form.locator('input[name="duration"]').fill('permanent');
  await form.getByRole('button', { name: 'Save rules' }).click();
  await expect(page.getByTestId('settings-result')).toContainText('Saved');
});

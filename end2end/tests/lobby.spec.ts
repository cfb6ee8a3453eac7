import { test, expect } from '@playwright/test';
import { hydrated, login } from './helpers';

test('an operator sees a waiting guest and admits them into the call', async ({ page }) => {
  await login(page);
  // Bring a guest with a known name into the locked, hosted board meeting.
  await page.goto('/calls');
  await hydrated(page);
  const board = page.locator('[data-testid="meeting"][data-name="Restricted Board Meeting"]');
  await board.getByTestId('demo-guest').click();
  const joined = board.locator('span', { hasText: 'is joining' });
  await expect(joined).toBeVisible();
  const name = (await joined.innerText()).replace(' is joining…', '');

  await page.getByRole('link', { name: 'Lobby' }).click();
  await expect(page).toHaveURL(/\/lobby$/);
  await hydrated(page);
  const meeting = page.locator('[data-testid="lobby-meeting"][data-name="Restricted Board Meeting"]');
  const row = meeting.locator(`[data-testid="waiting"][data-name="${name}"]`);
  await expect(row).toBeVisible();
  await expect(row).toContainText('web app (guest)');
  // How long they have waited, as people say it ("45 s", "3 min"), not a timestamp.
  await expect(row.locator('td').nth(4)).toHaveText(/^\d+ (s|min)$|^\d+ h \d+ min$/);

  await row.getByTestId('admit-one').click();
  await expect(page.getByTestId('admit-done')).toContainText('1 of 1 admitted');
  await expect(page.getByTestId('admit-result')).toContainText(`${name}: admitted`);
  await expect(row).toHaveCount(0);
  await expect(meeting.locator(`[data-testid="in-call"][data-name="${name}"]`)).toHaveCount(1);
});

test('search narrows the lobby to matching meetings and people', async ({ page }) => {
  await login(page);
  await page.goto('/lobby');
  await hydrated(page);
  await expect(page.getByTestId('lobby-meeting').first()).toBeVisible();
  await page.getByTestId('lobby-search').fill('standup');
  await expect(page.getByTestId('lobby-meeting')).toHaveCount(1);
  await expect(page.getByTestId('lobby-meeting')).toHaveAttribute('data-name', 'Team Standup');
  await page.getByTestId('lobby-search').fill('no such person anywhere');
  await expect(page.getByText('Nothing matches.')).toBeVisible();
});

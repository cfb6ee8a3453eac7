import { expect, Page } from '@playwright/test';

export const ADMIN = { user: 'admin', password: 'e2e-admin-password' };

/** Waits until the browser build has hydrated the page (the app sets data-hydrated on <html>). */
export async function hydrated(page: Page) {
  await expect(page.locator('html[data-hydrated="true"]')).toHaveCount(1);
}

export async function login(page: Page, user = ADMIN.user, password = ADMIN.password) {
  await page.goto('/login');
  await page.getByLabel('User name').fill(user);
  await page.locator('input[name="password"]').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

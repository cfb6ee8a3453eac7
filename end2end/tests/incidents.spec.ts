import { test, expect } from '@playwright/test';
import { hydrated, login } from './helpers';

// Demo mode connects the simulated Webex org at start. An admin picks the responders' space
// from the list (by its id) and adds an external responder to the directory; then a newcomer
// signs in with Webex as the moderator (an operator) and runs an incident from start to an
// acknowledgement.
test('sign in with Webex, build an incident, start it, watch deliveries and an ack arrive', async ({ browser, page, context, request }) => {
  const adminContext = await browser.newContext();
  const admin = await adminContext.newPage();
  await login(admin);
  await admin.goto('/incidents');
  await hydrated(admin);
  await admin.getByTestId('choose-responders-space').click();
  // Each space shows its title and its room id; the choice is stored by id.
  const choice = admin.getByTestId('space-choice').filter({ hasText: 'Incident_Responders_Members' });
  await expect(choice).toHaveCount(1);
  const roomId = await choice.getAttribute('data-room-id');
  await expect(choice).toContainText(roomId!);
  await choice.locator('input[type="radio"]').check();
  await admin.getByTestId('save-responders-space').click();
  await expect(admin.getByTestId('responders-space-saved')).toContainText(`Incident_Responders_Members (id ${roomId})`);
  await admin.reload();
  await hydrated(admin);
  await expect(admin.getByTestId('responders-space-current')).toContainText(roomId!);

  // An external, phone-only responder (admins keep the directory): a bad number first, then a good one.
  const directory = admin.getByTestId('external-directory');
  await directory.getByTestId('ext-name').fill('Pat Partner');
  await directory.getByTestId('ext-mobile').fill('not a number');
  await directory.getByTestId('ext-save').click();
  await expect(directory.getByTestId('ext-error')).toContainText('Mobile number');
  await directory.getByTestId('ext-mobile').fill('(201) 555-0199');
  await directory.getByTestId('ext-save').click();
  await expect(directory.locator('[data-testid="external"][data-name="Pat Partner"]')).toContainText('+12015550199');
  await adminContext.close();

  await page.goto('/incidents');
  await expect(page).toHaveURL(/\/login\?next=/);
  await hydrated(page);
  await page.getByTestId('webex-sign-in').click();
  // The simulator's consent page.
  await expect(page.getByRole('heading', { name: /wants to access your Webex account/ })).toBeVisible();
  const simOrigin = new URL(page.url()).origin;
  await page.locator('#email').selectOption('moderator@example.com');
  await page.locator('#accept').click();
  await expect(page).toHaveURL(/\/incidents$/);
  await hydrated(page);
  await expect(page.getByTestId('current-user')).toContainText('moderator@example.com');
  await expect(page.getByTestId('grant-state')).toContainText('Connected');

  await page.getByRole('link', { name: 'Response - Network outage' }).click();
  // The space's own address: /incidents/<room id, percent-encoded>.
  await expect(page).toHaveURL(/\/incidents\/(?!space\b|history\b)[^/?]+$/);
  await hydrated(page);
  await expect(page.getByTestId('space-title')).toHaveText('Response - Network outage');

  // An internal responder from the directory, searched as you type.
  await page.getByTestId('people-search').fill('example.com');
  const person = page.getByTestId('person').first();
  await expect(person).toBeVisible();
  const personName = await person.getAttribute('data-name');
  await person.getByTestId('add-person').click();
  await expect(page.getByTestId('space-result')).toContainText('added to the space');
  await expect(page.locator(`[data-testid="responder"][data-name="${personName}"]`)).toBeVisible();

  // The external from the directory; an operator sees its number masked, and may add it.
  const ext = page.locator('[data-testid="external"][data-name="Pat Partner"]');
  await expect(ext).toContainText('•••0199');
  await expect(ext).not.toContainText('+12015550199');
  await expect(page.getByTestId('ext-save')).toHaveCount(0);
  await ext.getByTestId('ext-add').click();
  await expect(page.locator('[data-testid="responder"][data-name="Pat Partner"]')).toBeVisible();

  // Start: the meeting opens in a new tab (ignored here), deliveries fill in by push.
  await page.getByTestId('incident-name').fill('Core router down');
  const popup = context.waitForEvent('page').catch(() => null);
  await page.getByTestId('start').click();
  await popup;
  const progress = page.getByTestId('progress');
  await expect(progress).toBeVisible();
  await expect(async () => {
    const done = await progress.getAttribute('data-done');
    const total = await progress.getAttribute('data-total');
    expect(Number(total)).toBeGreaterThan(0);
    expect(done).toBe(total);
  }).toPass();
  await expect(page.locator('[data-testid="delivery"][data-channel="sms"][data-status="sent"]').first()).toBeVisible();
  await expect(page.locator('[data-testid="delivery"][data-status="failed"]')).toHaveCount(0);

  // A responder answers from the link in their Webex message.
  const messages = await (await request.get(`${simOrigin}/sim/messages`)).json();
  const md: string = messages.map((m: any) => m.markdown ?? '').find((t: string) => t.includes('Core router down'));
  const link = md.match(/https?:\/\/\S+\/ack\/[A-Za-z0-9_-]+/)![0];
  const responder = await context.newPage();
  await responder.goto(link);
  await responder.getByTestId('ack-coming').click();
  await expect(responder.getByTestId('ack-answer')).toContainText('On my way');
  await expect(page.locator('[data-testid="ack"]', { hasText: 'On my way' })).toHaveCount(1);

  // Stop: the incident ends and goes to the history.
  await page.getByTestId('stop').click();
  await expect(page.getByTestId('space-result')).toContainText('Stopped');
  await responder.reload();
  await expect(responder.getByTestId('ack-over')).toBeVisible();
  await page.goto('/incidents');
  await hydrated(page);
  await expect(page.getByTestId('history')).toContainText('Core router down');
  // A past incident keeps its query address (not taken for a space).
  await page.getByTestId('history').getByRole('link', { name: 'Core router down' }).first().click();
  await expect(page).toHaveURL(/\/incidents\/history\?id=\d+$/);
  await expect(page.locator('body')).toContainText('Core router down');
  await expect(page.getByTestId('space-error')).toHaveCount(0);

  // The dashboard shows the org grant among the integrations.
  await page.goto('/');
  await hydrated(page);
  await expect(page.locator('[data-testid="status-row"]', { hasText: 'Webex org' })).toContainText('connected as Alex Admin');
});

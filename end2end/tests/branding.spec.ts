import { test, expect, request as playwrightRequest } from '@playwright/test';
import { hydrated, login } from './helpers';

// The demo seeds tenant "demo" with a default and a de_DE template.

test('an uploaded template is what CMS fetches, with the language fallbacks', async ({ page, baseURL }) => {
  await login(page);
  await page.goto('/branding?tenant=demo');
  await expect(page.getByTestId('url-invitation')).toHaveText(/\/invites\/demo$/);

  const template = 'Subject: Bienvenue %name%\n#if passcode\nCode : %passcode%\n#endif\n';
  await page.getByTestId('upload-kind').selectOption('template');
  await page.getByTestId('upload-file').setInputFiles({
    name: 'invitation_template_fr_FR.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from(template, 'utf-8'),
  });
  await page.getByTestId('upload-submit').click();
  await expect(page).toHaveURL(/\/branding\?tenant=demo&notice=/);
  await expect(page.getByTestId('branding-notice')).toContainText('fr_FR');
  await expect(page.getByTestId('template-row').filter({ hasText: 'fr_FR' })).toBeVisible();

  // As CMS: no session, GET with ?language=.
  const cms = await playwrightRequest.newContext({ baseURL });
  const exact = await cms.get('/invites/demo?language=fr_FR');
  expect(exact.status()).toBe(200);
  expect(exact.headers()['content-type']).toBe('text/plain; charset=utf-8');
  expect(await exact.text()).toBe(template);
  const fallback = await cms.get('/invites/demo?language=da_DK');
  expect(fallback.status()).toBe(200);
  expect(await fallback.text()).toContain('Subject:');
  await cms.dispose();

  // The request shows up on the page, with the fallback flagged as missing.
  await page.reload();
  await expect(page.getByTestId('missing-table')).toContainText('da_DK');
  await expect(page.getByTestId('requests-table')).toContainText('fr_FR');
});

test('the template editor previews with sample values and saves what CMS then gets', async ({ page, baseURL }) => {
  await login(page);
  await page.goto('/branding?tenant=demo&lang=de_DE');
  await hydrated(page);
  const editor = page.getByTestId('template-text');
  await expect(editor).toHaveValue(/Einladung/);
  await editor.fill('Subject: Hallo %name%\n#if numeric_id\nID: %numeric_id%\n#endif\n#if\n');
  await expect(page.getByTestId('preview-subject')).toHaveText('Hallo Quarterly review');
  await expect(page.getByTestId('preview-body')).toContainText('ID: 4455667788');
  await expect(page.getByTestId('preview-warnings')).toContainText('never closed');

  await editor.fill('Subject: Hallo %name%\n#if numeric_id\nID: %numeric_id%\n#endif\n');
  await expect(page.getByTestId('preview-warnings')).toHaveCount(0);
  await page.getByTestId('template-save').click();
  await expect(page.getByTestId('template-saved')).toContainText('de_DE');

  const cms = await playwrightRequest.newContext({ baseURL });
  const res = await cms.get('/invites/demo?language=de_DE');
  expect(await res.text()).toBe('Subject: Hallo %name%\n#if numeric_id\nID: %numeric_id%\n#endif\n');
  await cms.dispose();
});

test('a bad prompt upload is refused with the reason and nothing changes', async ({ page }) => {
  await login(page);
  await page.goto('/branding?tenant=demo');
  await page.getByTestId('upload-kind').selectOption('call');
  await page.getByTestId('upload-file').setInputFiles({
    name: 'welcome.wav',
    mimeType: 'audio/wav',
    buffer: Buffer.from('RIFF not really a wave file', 'utf-8'),
  });
  await page.getByTestId('upload-submit').click();
  await expect(page.getByTestId('branding-error')).toContainText('welcome.wav is not a readable WAV file');
  await expect(page.getByTestId('file-row').filter({ hasText: 'welcome.wav' })).toContainText('16-bit mono');
});

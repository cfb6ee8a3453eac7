// End-to-end tests: Debian's Chromium (never a downloaded browser) against the built server
// in demo mode on a fresh data directory.
import { defineConfig } from '@playwright/test';
import * as os from 'os';
import * as path from 'path';
import * as fs from 'fs';

const port = Number(process.env.E2E_PORT ?? 3117);
export const adminPassword = 'e2e-admin-password';
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-e2e-'));

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    browserName: 'chromium',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
             '--disable-sync', '--no-first-run', '--disable-quic'],
    },
    trace: 'off',
  },
  webServer: {
    // The simulators misbehave now and then (demo default), from a fixed seed so that a run repeats.
    command: `target/debug/switchboard demo --addr 127.0.0.1:${port} --data-dir ${dataDir} --seed ${process.env.E2E_SEED ?? 20261206}`,
    cwd: '..',
    url: `http://127.0.0.1:${port}/healthz`,
    timeout: 60_000,
    reuseExistingServer: false,
    stdout: 'pipe',
    env: {
      SWITCHBOARD_ADMIN_PASSWORD: adminPassword,
      SWITCHBOARD_SERVER__SITE_ROOT: path.resolve(__dirname, '..', 'target', 'site'),
    },
  },
});

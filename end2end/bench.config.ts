// The bundle benchmark (bench/bundle/run.sh): the same server and browser as the end-to-end
// tests, other specs. Not part of the test command.
import { defineConfig } from '@playwright/test';
import base from './playwright.config';

export default defineConfig({ ...base, testDir: './bench', timeout: 120_000 });

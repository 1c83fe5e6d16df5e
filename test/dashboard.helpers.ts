/**
 * Real Chromium for the dashboard suites (Debian's /usr/bin/chromium driven by playwright-core), with a fresh
 * profile directory that is removed on close.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Errors the page threw or logged (a healthy dashboard has none). */
  errors: string[];
  close(): Promise<void>;
}

/** Launch Chromium with a temp profile and open one page of `width`×`height`. */
export async function openBrowser(width = 1440, height = 1000): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'ckpt-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width, height },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return {
    context, page, errors,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Where screenshots go (git-ignored). */
export function resultsDir(): string {
  const dir = new URL('../test-results/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  return dir;
}

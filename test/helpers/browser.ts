import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium package: playwright-core never downloads a browser of its own. */
export const CHROMIUM_PATH = process.env.MP_CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where browser tests leave their screenshots (one folder per test file). */
export const TEST_OUTPUT_DIR = path.join(__dirname, '..', '..', '.test-output');

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** A headless Chromium with a fresh profile; every console error and uncaught page error is collected. */
export interface TestBrowser {
  context: BrowserContext;
  /** Console errors and page errors so far, across every page. */
  errors: string[];
  newPage(): Promise<Page>;
  /** Take out of `errors` the one entry matching `pattern` (an error the test provoked on purpose); fails when there is none. */
  expectError(pattern: RegExp): void;
  /** axe-core's serious and critical violations on the page as it is now, one line each (empty: none). */
  accessibilityProblems(page: Page): Promise<string[]>;
  /** Save a full-page screenshot as <output>/<name>.png. */
  screenshot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
}

/** Run through the DevTools protocol, which the page's Content-Security-Policy does not restrict. */
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_RUN = `axe.run(document, { resultTypes: ['violations'] }).then((result) => result.violations
  .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
  .map((violation) => violation.id + ': ' + violation.help + ' at ' + violation.nodes.map((node) => node.target.join(' ')).join(', ')))`;

export async function launchBrowser(outputName: string): Promise<TestBrowser> {
  const profile = mkdtempSync(path.join(tmpdir(), 'mp-chromium-'));
  const output = path.join(TEST_OUTPUT_DIR, outputName);
  mkdirSync(output, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport: DESKTOP,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const errors: string[] = [];
  const watch = (page: Page) => {
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`console error on ${page.url()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => errors.push(`page error on ${page.url()}: ${error.message}`));
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  return {
    context,
    errors,
    async newPage() {
      return context.pages()[0] ?? context.newPage();
    },
    expectError(pattern) {
      const index = errors.findIndex((error) => pattern.test(error));
      if (index < 0) throw new Error(`expected a browser error matching ${pattern}, got ${JSON.stringify(errors)}`);
      errors.splice(index, 1);
    },
    async accessibilityProblems(page) {
      if (!(await page.evaluate<boolean>("typeof axe === 'object'"))) await page.evaluate(AXE_SOURCE);
      return page.evaluate<string[]>(AXE_RUN);
    },
    async screenshot(page, name) {
      const file = path.join(output, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startTestServer, usingPostgres, type TestServer } from '../helpers/server';
import { launchBrowser, type TestBrowser } from '../helpers/browser';

describe(`GraphiQL in Chromium: a query and the clock subscription run from the page (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  this.timeout(60_000);
  let server: TestServer;
  let browser: TestBrowser;
  let page: Page;

  before(async () => {
    server = await startTestServer();
    browser = await launchBrowser('web-graphiql');
    page = await browser.newPage();
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && page) await browser.screenshot(page, 'failed');
    const errors = browser?.errors.splice(0) ?? [];
    assert.deepEqual(errors, [], `the browser reported errors during "${this.currentTest?.title}"`);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  /** Monaco draws text in many spans with non-breaking spaces: poll a box's whole text for `pattern`. */
  async function waitForText(selector: string, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = (
        await page
          .locator(selector)
          .first()
          .innerText()
          .catch(() => '')
      ).replace(/\u00a0/g, ' ');
      if (pattern.test(text)) return text;
      if (Date.now() > deadline) throw new Error(`${selector} never showed ${pattern}; it shows ${JSON.stringify(text.slice(0, 300))}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('runs the catalog query of the first tab and shows its answer', async () => {
    await page.goto(`${server.url}/graphql`);
    // The editor holds the tab's operation once Monaco has loaded; ▶ before that would send an empty document.
    await waitForText('.graphiql-query-editor', /query Catalog/);
    await page.getByRole('button', { name: /^Execute query/ }).click();
    const answer = await waitForText('.graphiql-response', /"totalCount": \d+/);
    assert.match(answer, /"catalog"/);
    assert.doesNotMatch(answer, /"errors"/);
    await browser.screenshot(page, 'graphiql-catalog-1280x800');
  });

  it('runs the clock subscription of the second tab over WebSocket and shows its ticks', async () => {
    await page.getByRole('tab', { name: /Clock/ }).click();
    await waitForText('.graphiql-query-editor', /subscription Clock/);
    await page.getByRole('button', { name: /^Execute query/ }).click();
    await waitForText('.graphiql-response', /"sequence": [2-9]/);
    await page.getByRole('button', { name: /^Stop query/ }).click();
    await browser.screenshot(page, 'graphiql-clock-1280x800');
  });
});

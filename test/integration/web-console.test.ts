import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Page } from 'playwright-core';
import { startTestServer, usingPostgres, type TestServer } from '../helpers/server';
import { DESKTOP, PHONE, launchBrowser, type TestBrowser } from '../helpers/browser';
import { TestLeaderboardDocument, TestMeDocument as ME, TestRevokeApiKeyDocument as REVOKE_KEY } from '../../generated/test-operations';

const RIDGE = 'demo/momentum-ridge';

describe(`web console in Chromium: catalog, sign-in, keys and sessions (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  this.timeout(60_000);
  let server: TestServer;
  let browser: TestBrowser;
  let page: Page;
  let vendor: { vendorId: string; handle: string; apiKey: string };
  let ridgeCorr: string;
  let ridgeRound: number;

  before(async () => {
    server = await startTestServer();
    vendor = await server.createVendor('Browser Quant');
    const board = (await server.graphql(TestLeaderboardDocument, {})).data?.leaderboard;
    const ridge = board?.nodes.find((entry) => entry.model.slug === RIDGE);
    assert.ok(board && ridge?.scores.corr.mean !== null && ridge?.scores.corr.mean !== undefined, 'the fresh database has a scored demo round');
    ridgeCorr = ridge.scores.corr.mean.toFixed(4);
    ridgeRound = board.round;
    browser = await launchBrowser('web-console');
    page = await browser.newPage();
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && page) await browser.screenshot(page, `failed-${this.currentTest.title.replace(/\W+/g, '-').slice(0, 60)}`);
    // A console error fails the test that caused it (and is not blamed on the next one).
    const errors = browser?.errors.splice(0) ?? [];
    assert.deepEqual(errors, [], `the browser reported errors during "${this.currentTest?.title}"`);
  });

  /** A screenshot of the page as it is, and no serious or critical axe-core violation on it. */
  async function checkPage(name: string): Promise<void> {
    await browser.screenshot(page, name);
    assert.deepEqual(await browser.accessibilityProblems(page), [], `axe-core on ${name}`);
  }

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  /** At the phone's width nothing may stick out sideways (tables scroll inside their own box). */
  async function assertFitsThePhone(): Promise<void> {
    await page.setViewportSize(PHONE);
    const width = await page.evaluate<number>('document.documentElement.scrollWidth');
    assert.ok(width <= PHONE.width, `the page is ${width}px wide at ${PHONE.width}px`);
  }

  async function signInThroughThePage(apiKey: string): Promise<void> {
    await page.getByLabel('API key').fill(apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  it('serves the catalog at / with a strict CSP and shows the demo models with their latest scores', async () => {
    const response = await page.goto(`${server.url}/`);
    assert.equal(response?.status(), 200);
    const csp = response?.headers()['content-security-policy'] ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    const card = page.locator('.card', { has: page.locator(`a[href="/models/${RIDGE}"]`) });
    await card.waitFor();
    assert.equal(await card.locator('.score-corr').innerText(), ridgeCorr);
    assert.match(await card.locator('.badge.vendor').innerText(), /\S/);
    await checkPage('catalog-1280x800');
    await assertFitsThePhone();
    await checkPage('catalog-390x844');
    await page.setViewportSize(DESKTOP);
  });

  it('filters the catalog by search words and by task', async () => {
    await page.getByLabel('Search').fill('momentum');
    await page.locator(`a[href="/models/${RIDGE}"]`).waitFor();
    await page.getByLabel('Task').selectOption('OPTIMIZER');
    await page.getByText('No model matches').waitFor();
    await page.getByLabel('Task').selectOption('');
    await page.getByLabel('Search').fill('');
  });

  it('opens a model page from the catalog with its scores per round', async () => {
    await page.locator(`a[href="/models/${RIDGE}"]`).click();
    await page.waitForURL(`${server.url}/models/${RIDGE}`);
    const row = page.locator('tbody tr').first();
    await row.waitFor();
    assert.equal(await row.locator('.score-corr').innerText(), ridgeCorr);
    assert.match(await page.locator('tbody').innerText(), new RegExp(String(ridgeRound)));
    await checkPage('model-1280x800');
    // A bookmark of the model page loads it directly (the server falls back to the page).
    const direct = await page.goto(`${server.url}/models/${RIDGE}`);
    assert.equal(direct?.status(), 200);
    await page.locator('.score-corr').first().waitFor();
  });

  it('shows the leaderboard of the scored round', async () => {
    await page.getByRole('link', { name: 'Leaderboard' }).click();
    await page.locator(`a[href="/models/${RIDGE}"]`).waitFor();
    assert.equal(await page.locator('tbody tr').count(), 4);
    await checkPage('leaderboard-1280x800');
  });

  it('sends a console page to sign-in, refuses a wrong key in one sentence, and comes back after sign-in', async () => {
    await page.goto(`${server.url}/console/keys`);
    await page.waitForURL(/\/login\?next=%2Fconsole%2Fkeys/);
    await page.getByText('Sign in with your API key to open the console.').waitFor();
    await signInThroughThePage('vk_not_a_real_key');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    const text = await alert.innerText();
    assert.match(text, /^[A-Z][^{}\n]*\.$/, 'one sentence, no JSON');
    // The refused sign-in's 401 is the one network error Chromium logs for it.
    browser.expectError(/Failed to load resource: the server responded with a status of 401/);
    await checkPage('login-error-1280x800');
    await signInThroughThePage(vendor.apiKey);
    await page.waitForURL(`${server.url}/console/keys`);
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    const cookies = await browser.context.cookies(server.url);
    const session = cookies.find((cookie) => cookie.name === 'mp_session');
    assert.ok(session?.httpOnly, 'the session cookie is HttpOnly');
    assert.equal(session?.sameSite, 'Strict');
    // A string expression: the tests are compiled without the DOM's types.
    const kept = await page.evaluate<string>(
      "[document.cookie, JSON.stringify(localStorage), JSON.stringify(sessionStorage), document.body.innerHTML].join(' ')",
    );
    assert.ok(!kept.includes(vendor.apiKey), 'the page keeps no copy of the key');
    assert.ok(!kept.includes(session?.value ?? 'missing'), 'scripts cannot read the session token');
  });

  it('creates a key and shows its secret once', async () => {
    await page.getByLabel('Name').fill('from the browser');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = (await page.getByTestId('new-secret').innerText()).trim();
    assert.match(secret, /^vk_/);
    await page.getByRole('rowheader', { name: 'from the browser' }).waitFor();
    await checkPage('keys-new-secret-1280x800');
    assert.equal((await server.graphql(ME, {}, secret)).data?.me.vendor?.handle, vendor.handle, 'the secret shown is a working key');
    await page.reload();
    await page.getByRole('heading', { name: 'Browser sessions' }).waitFor();
    assert.ok(!(await page.content()).includes(secret), 'after a reload the secret is gone');
    assert.match(await page.locator('table').nth(1).innerText(), /this browser/);
    await assertFitsThePhone();
    await checkPage('keys-390x844');
    await page.setViewportSize(DESKTOP);
  });

  it('shows the dashboard with the mp login shortcut for this server', async () => {
    await page.getByRole('link', { name: 'Console' }).click();
    await page.getByText(`mp login --api-url ${server.url}`).waitFor();
    await page.getByText('Current round').waitFor();
    await checkPage('dashboard-1280x800');
  });

  it('lists the dataset rounds with files whose download links give the bytes of their sha256', async () => {
    await page.getByRole('link', { name: 'Datasets' }).click();
    await page.waitForURL(`${server.url}/console/datasets`);
    const row = page.locator('tbody tr').first();
    await row.waitFor();
    const href = await row.getByRole('link', { name: /^Download / }).getAttribute('href');
    const sha256 = await row.locator('code[title]').getAttribute('title');
    assert.ok(href && sha256);
    const file = await fetch(new URL(href, server.url));
    assert.equal(file.status, 200);
    assert.equal(
      createHash('sha256')
        .update(Buffer.from(await file.arrayBuffer()))
        .digest('hex'),
      sha256,
    );
    await checkPage('datasets-1280x800');
  });

  it('ends the open session at its next request when its key is revoked', async () => {
    const me = await server.graphql(ME, {}, vendor.apiKey);
    await server.graphql(REVOKE_KEY, { id: me.data?.me.apiKey.id ?? '' }, vendor.apiKey);
    await page.getByRole('link', { name: 'API keys', exact: true }).click();
    await page.waitForURL(/\/login\?next=%2Fconsole%2Fkeys/);
    await page.getByText(/session has ended/).waitFor();
  });

  it('signs out, ending the session on the server', async () => {
    const second = await server.createVendor('Second Browser Quant');
    await signInThroughThePage(second.apiKey);
    await page.waitForURL(`${server.url}/console/keys`);
    const token = (await browser.context.cookies(server.url)).find((cookie) => cookie.name === 'mp_session')?.value;
    assert.ok(token);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login\?signedOut=1/);
    assert.equal(
      (await browser.context.cookies(server.url)).find((cookie) => cookie.name === 'mp_session'),
      undefined,
    );
    const replay = await fetch(server.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: `mp_session=${token}` },
      body: JSON.stringify({ query: ME.toString() }),
    });
    const body = (await replay.json()) as { errors?: { extensions?: { code?: string } }[] };
    assert.equal(body.errors?.[0].extensions?.code, 'UNAUTHENTICATED', 'the old cookie no longer works anywhere');
  });
});

import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { startTestServer, usingPostgres, type TestServer } from '../helpers/server';
import { launchBrowser, type TestBrowser } from '../helpers/browser';
import { TestStartTrainingRunIdDocument } from '../../generated/test-operations';

const LINES = 3000;

/** Prints a coloured line, a line with control characters, 20 loss metric points, then LINES lines, then waits until it is stopped. */
const PROGRAM = `
console.log('\\u001b[31mred alert\\u001b[0m done');
for (let step = 1; step <= 20; step++) console.log(JSON.stringify({ mp: 'metric', name: 'loss', step, value: 1 / step }));
console.log('bell\\u0007 and backspace\\u0008 here');
for (let i = 1; i <= ${LINES}; i++) console.log('line ' + i);
setInterval(() => undefined, 1000);
`;

describe(`web console in Chromium: training runs and their live log (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, function () {
  this.timeout(90_000);
  let server: TestServer;
  let browser: TestBrowser;
  let page: Page;
  let templates: string;
  let vendor: { apiKey: string };

  before(async () => {
    templates = await mkdtemp(path.join(tmpdir(), 'mp-web-templates-'));
    // Local runs may execute as another user (nobody, when the tests run as root).
    await chmod(templates, 0o755);
    await mkdir(path.join(templates, 'chatty'));
    await writeFile(
      path.join(templates, 'chatty', 'package.json'),
      JSON.stringify({
        name: 'chatty',
        main: 'train.js',
        mp: { hyperparameters: { lr: { type: 'number', default: 0.01, min: 0, max: 1, description: 'the learning rate' } } },
      }),
    );
    await writeFile(path.join(templates, 'chatty', 'train.js'), PROGRAM);
    server = await startTestServer({ MP_TEMPLATES_DIR: templates });
    vendor = await server.createVendor('Training Browser Quant');
    browser = await launchBrowser('web-training');
    page = await browser.newPage();
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && page) await browser.screenshot(page, `failed-${this.currentTest.title.replace(/\W+/g, '-').slice(0, 60)}`);
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
    await rm(templates, { recursive: true, force: true });
  });

  it('lists the run, follows its log live with control characters made safe, searches it, and stops the run', async () => {
    const started = await server.graphql(TestStartTrainingRunIdDocument, { spec: { task: 'SIGNAL', template: 'chatty', hyperparameters: [] } }, vendor.apiKey);
    assert.equal(started.errors, undefined, JSON.stringify(started.errors));
    const id = started.data?.startTrainingRun.id ?? '';

    await page.goto(`${server.url}/login?next=${encodeURIComponent('/console/training')}`);
    await page.getByLabel('API key').fill(vendor.apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.url}/console/training`);
    await page.getByRole('link', { name: id }).click();
    await page.waitForURL(`${server.url}/console/training/${id}`);

    // Following: the last line arrives in the page, while only the visible rows are in the DOM.
    const log = page.getByRole('log', { name: 'Training log' });
    await log.locator('.log-text', { hasText: new RegExp(`^line ${LINES}$`) }).waitFor({ timeout: 30_000 });
    assert.ok((await log.locator('.log-line').count()) < 200, 'the log is virtualized');

    // The metric lines become a chart (uPlot draws on a canvas) with every point.
    await page.getByRole('img', { name: 'loss by step' }).locator('canvas').waitFor();
    await page.getByText('loss (20 points)').waitFor({ timeout: 15_000 });

    await page.getByLabel('Search the log').fill('red alert');
    const first = log.locator('.log-text').first();
    await first.getByText('red alert').waitFor();
    assert.equal(await first.innerText(), 'red alert done', 'the ANSI colour codes are gone');
    await page.getByLabel('Search the log').fill('backspace');
    await first.getByText('backspace').waitFor();
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(await first.innerText(), /[\u0000-\u0008\u000b-\u001f\u007f]/, 'no control character reaches the page');
    await page.getByLabel('Search the log').fill('line 1234');
    await page.getByText(/^1 of \d+ lines/).waitFor();
    await page.getByLabel('Search the log').fill('');
    await checkPage('run-1280x800');

    await page.getByRole('button', { name: 'Stop run' }).click();
    await page.getByRole('button', { name: 'Confirm stop' }).click();
    await page.getByTestId('run-status').getByText('CANCELLED').waitFor({ timeout: 30_000 });
    await page.getByText(/finished CANCELLED/).waitFor({ timeout: 30_000 });
    await checkPage('run-stopped-1280x800');
  });

  it('starts a run from the form: a bad budget is shown next to its field, then one run for a double click', async () => {
    const runsBefore = await server.database.dataSource.query('SELECT count(*)::int AS n FROM training_runs');
    await page.goto(`${server.url}/console/training`);
    await page.getByRole('link', { name: 'New training run' }).click();
    await page.waitForURL(`${server.url}/console/training/new`);
    await page.getByLabel('Template').selectOption('chatty');
    await page.getByLabel('lr (0 to 1)').fill('0.5');
    await page.getByLabel('Budget (USD)').fill('lots');
    await page.getByRole('button', { name: 'Start run' }).click();
    const budgetProblem = page.locator('.field', { has: page.getByLabel('Budget (USD)') }).locator('.field-problem');
    await budgetProblem.waitFor();
    assert.match(await budgetProblem.innerText(), /\S/);
    assert.equal(await page.getByLabel('Budget (USD)').getAttribute('aria-invalid'), 'true');
    await checkPage('new-run-bad-budget-1280x800');

    await page.getByLabel('Budget (USD)').fill('2');
    await page.getByRole('button', { name: 'Start run' }).dblclick();
    await page.waitForURL(/\/console\/training\/run_/);
    await page.getByText('2.0000 USD').waitFor();
    const runsAfter = await server.database.dataSource.query('SELECT count(*)::int AS n FROM training_runs');
    assert.equal(runsAfter[0].n, runsBefore[0].n + 1, 'one run for a double click');
    await page.getByRole('button', { name: 'Stop run' }).click();
    await page.getByRole('button', { name: 'Confirm stop' }).click();
    await page.getByTestId('run-status').getByText('CANCELLED').waitFor({ timeout: 30_000 });
  });

  it("shows another vendor's run as not found, in one sentence", async () => {
    const other = await server.createVendor('Other Quant');
    const started = await server.graphql(TestStartTrainingRunIdDocument, { spec: { task: 'SIGNAL', template: 'chatty', hyperparameters: [] } }, other.apiKey);
    const id = started.data?.startTrainingRun.id ?? '';
    await page.goto(`${server.url}/console/training/${id}`);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /^[A-Z][^{}\n]*\.$/);
    assert.match(await alert.innerText(), /not found|no training run|no run/i);
  });
});

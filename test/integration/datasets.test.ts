import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { startTestServer, usingPostgres, type TestServer } from '../helpers/server';
import { parsePricesCsv, type PriceRow } from '../../server/modules/datasets/round-builder';
import { sp500CsvPath } from '../../server/modules/datasets/sample-data';
import {
  TestCloseRoundDocument,
  TestCurrentRoundDocument,
  TestCurrentRoundNumberDocument,
  TestOpenRoundDocument,
  TestOpenRoundWithTimeDocument,
  TestResolveRoundDocument,
  TestRoundDownloadsDocument as ROUND_WITH_URLS,
  TestRoundFilesDocument,
  TestRoundNumberDocument,
  TestRoundNumbersDocument,
  TestRoundsDocument,
  TestRoundStatusDocument,
} from '../../generated/test-operations';

describe(`dataset rounds over the API (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, () => {
  let server: TestServer;
  let vendorKey: string;
  let prices: PriceRow[];

  before(async () => {
    server = await startTestServer();
    vendorKey = (await server.createVendor()).apiKey;
    prices = parsePricesCsv(await readFile(sp500CsvPath(), 'utf8'), { symbol: 'SPX' });
  });

  after(async () => {
    await server.close();
  });

  it('has round 1 open, built from the real S&P 500 history, as the current round', async () => {
    const response = await server.graphql(TestCurrentRoundDocument);
    const round = response.data!.currentRound!;
    assert.equal(round.number, 1);
    assert.equal(round.status, 'OPEN');
    assert.deepEqual(round.symbols, ['SPX']);
    assert.equal(round.horizonDays, 5);
    assert.ok(round.featureNames.length >= 10);
    assert.deepEqual(
      round.splits.map((split) => split.kind),
      ['TRAIN', 'VALIDATION', 'LIVE'],
    );
    assert.deepEqual(
      round.files.map((file) => file.kind),
      ['TRAIN', 'VALIDATION', 'LIVE'],
    );
    assert.ok(round.files[0].rowCount > 3000);
  });

  it('serves each file through a signed URL whose bytes match the advertised sha256', async () => {
    const response = await server.graphql(ROUND_WITH_URLS, { number: 1, seconds: 60 }, vendorKey);
    for (const file of response.data!.round.files) {
      assert.match(file.downloadUrl, new RegExp(`^${server.url}/files/.+\\?expires=\\d+&signature=`));
      const download = await fetch(file.downloadUrl);
      assert.equal(download.status, 200);
      assert.equal(download.headers.get('etag'), `"${file.sha256}"`);
      const bytes = Buffer.from(await download.arrayBuffer());
      assert.equal(bytes.length, file.sizeBytes);
      assert.equal(createHash('sha256').update(bytes).digest('hex'), file.sha256);
      assert.equal(bytes.toString('utf8').trimEnd().split('\n').length, file.rowCount + 1);
    }
  });

  it('refuses download URLs without a key, and signed URLs that were tampered with or expired', async () => {
    const anonymous = await server.graphql(ROUND_WITH_URLS, { number: 1, seconds: 60 });
    assert.equal(anonymous.errors?.[0].extensions?.code, 'UNAUTHENTICATED');

    const { files } = (await server.graphql(ROUND_WITH_URLS, { number: 1, seconds: 60 }, vendorKey)).data!.round;
    const [train, validation] = files;
    const otherPath = validation.downloadUrl.split('?')[0] + '?' + train.downloadUrl.split('?')[1];
    const moved = await fetch(otherPath);
    assert.equal(moved.status, 403);
    assert.match(await moved.text(), /invalid signature/);

    const tooShort = await server.graphql(ROUND_WITH_URLS, { number: 1, seconds: 1 }, vendorKey);
    assert.deepEqual(
      (tooShort.errors?.[0].extensions?.fields as { field: string }[]).map((problem) => problem.field),
      ['expiresInSeconds'],
    );

    const expiredUrl = new URL(train.downloadUrl);
    expiredUrl.searchParams.set('expires', String(Math.floor(Date.now() / 1000) - 10));
    const expired = await fetch(expiredUrl);
    assert.equal(expired.status, 403);
  });

  it('answers NOT_FOUND for an unknown round', async () => {
    const response = await server.graphql(TestRoundNumberDocument, { number: 999 });
    assert.equal(response.errors?.[0].extensions?.code, 'NOT_FOUND');
  });

  it('walks a new round through UPCOMING, OPEN, CLOSED and RESOLVED, refusing illegal changes', async () => {
    // Build from the first 4,000 rows, so the full file can resolve the live period later.
    const round = await server.app.services.datasets.createRound({ prices: prices.slice(0, 4000), horizonDays: 5, name: 'Partial history', by: 'test' });
    assert.equal(round.status, 'UPCOMING');

    const hidden = await server.graphql(TestRoundStatusDocument, { number: round.number }, vendorKey);
    assert.equal(hidden.errors?.[0].extensions?.code, 'NOT_FOUND', 'vendors do not see UPCOMING rounds');
    const byVendor = await server.graphql(TestOpenRoundDocument, { number: round.number }, vendorKey);
    assert.equal(byVendor.errors?.[0].extensions?.code, 'FORBIDDEN');

    const closeEarly = await server.graphql(TestCloseRoundDocument, { number: round.number }, server.adminKey);
    assert.equal(closeEarly.errors?.[0].extensions?.code, 'PRECONDITION_FAILED');
    assert.match(closeEarly.errors?.[0].message ?? '', /UPCOMING: it can only become OPEN/);

    const opened = await server.graphql(TestOpenRoundWithTimeDocument, { number: round.number }, server.adminKey);
    assert.equal(opened.data?.openRound.status, 'OPEN');
    const current = await server.graphql(TestCurrentRoundNumberDocument);
    assert.equal(current.data?.currentRound?.number, round.number, 'the newest OPEN round is current');

    await assert.rejects(server.app.services.datasets.resolveRound(round.number, prices, 'test'), /only a CLOSED round can be resolved/);
    await server.graphql(TestCloseRoundDocument, { number: round.number }, server.adminKey);

    await assert.rejects(server.app.services.datasets.resolveRound(round.number, prices.slice(0, 4000), 'test'), /unresolved|last date/);
    // The operator resolves over GraphQL with the newer prices as CSV text.
    const csv = ['date,open,high,low,close,volume', ...prices.map((row) => [row.date, row.open, row.high, row.low, row.close, row.volume].join(','))].join(
      '\n',
    );
    const byVendorResolve = await server.graphql(TestResolveRoundDocument, { number: round.number, csv }, vendorKey);
    assert.equal(byVendorResolve.errors?.[0].extensions?.code, 'FORBIDDEN');
    const garbage = await server.graphql(TestResolveRoundDocument, { number: round.number, csv: 'date,open\n2020-01-01,1' }, server.adminKey);
    assert.deepEqual(
      (garbage.errors?.[0].extensions?.fields as { field: string }[] | undefined)?.map((problem) => problem.field),
      ['pricesCsv'],
      JSON.stringify(garbage.errors),
    );
    const resolved = await server.graphql(TestResolveRoundDocument, { number: round.number, csv, symbol: 'SPX' }, server.adminKey);
    assert.equal(resolved.data?.resolveRound.status, 'RESOLVED', JSON.stringify(resolved.errors));
    const files = await server.graphql(TestRoundFilesDocument, { number: round.number }, vendorKey);
    const kinds = files.data!.round.files.map((file) => file.kind);
    assert.deepEqual(kinds, ['TRAIN', 'VALIDATION', 'LIVE', 'RESOLUTION']);
    const live = files.data!.round.files.find((file) => file.kind === 'LIVE')!;
    const resolution = files.data!.round.files.find((file) => file.kind === 'RESOLUTION')!;
    assert.equal(resolution.rowCount, live.rowCount);

    const again = await server.graphql(TestOpenRoundDocument, { number: round.number }, server.adminKey);
    assert.equal(again.errors?.[0].extensions?.code, 'PRECONDITION_FAILED');
  });

  it('lists rounds newest first and filters by status', async () => {
    const open = await server.graphql(TestRoundsDocument, { status: 'OPEN' }, vendorKey);
    assert.ok(open.data!.rounds.nodes.every((round) => round.status === 'OPEN'));
    const all = await server.graphql(TestRoundNumbersDocument, {}, vendorKey);
    const numbers = all.data!.rounds.nodes.map((round) => round.number);
    assert.deepEqual(
      numbers,
      [...numbers].sort((a, b) => b - a),
    );
  });
});

/**
 * Signed-URL download of a 256 MiB round file: `mp data pull` vs `curl -o && sha256sum`, and server memory under 20 parallel downloads.
 *
 * Builds dist/ if stale. Prepares a fresh embedded data directory with the server stopped
 * (the embedded database is one process's): `mp-server vendor create --json`, then
 * `mp-server rounds create --from <vega S&P 500 csv> --open` (round 2). Building a round whose
 * train.csv really is 256 MiB would take a multi-symbol CSV of about 3.2 million rows: round
 * building measured about 12 s and 1.3 GB of RSS for 500,000 rows, so well over a minute and
 * several GB. Instead, round 2's train.csv in the blob store is replaced by a 256 MiB CSV made
 * of the real train.csv's rows repeated, and its dataset_files row (size, sha256, row count)
 * is updated by opening the embedded database directly, still with the server stopped.
 *
 * Then the compiled server starts (port 0, MP_LOG_LEVEL=warn) and, taking turns, 3 times
 * each: the compiled CLI `mp data pull --round 2 --kind train --dir <fresh dir>` (MP_API_KEY,
 * MP_API_URL, empty XDG_CONFIG_HOME; timed spawn to exit, so including node's start, the
 * GraphQL query for the signed URL, sha256 verification and the rename); the same verified
 * result by hand, `sh -c 'curl -s -S -f -o <file> <signed URL> && sha256sum <file>'` (the
 * digest checked against the record), which is what the target compares mp with; and
 * `curl -s -o <file> <signed URL>` alone, for information. The signed URLs come from
 * `round(number: 2) { files { downloadUrl } }`, fetched before the timed spawn. Finally 20 curl
 * processes download the file at once (to /dev/null) while the server's VmRSS is sampled every
 * 50 ms.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import {
  atLeast,
  below,
  childEnv,
  ensureBuilt,
  info,
  ms,
  printHeader,
  printTable,
  progress,
  runMain,
  summarize,
  temporaryDirectory,
  verdict,
  type Target,
} from './_harness';
import { DataRoundDownloadsDocument, type DataRoundDownloadsQuery } from '../../generated/cli-operations';
import { CLI_MAIN, createVendor, loadAverage, graphql, mib, rssBytes, runCommand, serverCommand, sleep, sp500Csv, startServer } from './_servers';

const FILE_BYTES = 256 * 2 ** 20;
const RUNS_EACH = 3;
const PARALLEL = 20;
const SAMPLE_EVERY_MS = 50;
const IDLE_SAMPLING_MS = 2000;

/** Writes ~FILE_BYTES of CSV: the header and rows of `source`, rows repeated, whole lines only. */
async function writeLargeCsv(source: string, target: string): Promise<{ sizeBytes: number; sha256: string; rows: number }> {
  const [header, ...rows] = readFileSync(source, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0);
  if (rows.length === 0) throw new Error(`${source} has no rows to repeat`);
  const hash = createHash('sha256');
  const out = createWriteStream(target);
  let size = 0;
  let count = 0;
  const put = async (text: string) => {
    const chunk = Buffer.from(text, 'utf8');
    hash.update(chunk);
    size += chunk.length;
    if (!out.write(chunk)) await once(out, 'drain');
  };
  await put(`${header}\n`);
  const block = `${rows.join('\n')}\n`;
  const blockBytes = Buffer.byteLength(block);
  while (size + blockBytes <= FILE_BYTES) {
    await put(block);
    count += rows.length;
  }
  for (const row of rows) {
    if (size >= FILE_BYTES) break;
    await put(`${row}\n`);
    count += 1;
  }
  out.end();
  await once(out, 'close');
  return { sizeBytes: size, sha256: hash.digest('hex'), rows: count };
}

/** Points the dataset_files row at the new bytes; the server must be stopped (PGlite is single-process). */
async function updateFileRecord(pgliteDir: string, round: number, file: { sizeBytes: number; sha256: string; rows: number }): Promise<void> {
  const { PGlite } = require('@electric-sql/pglite') as typeof import('@electric-sql/pglite');
  const db = await PGlite.create({ dataDir: pgliteDir });
  try {
    const result = await db.query(`UPDATE dataset_files SET size_bytes = $1, sha256 = $2, row_count = $3 WHERE round_number = $4 AND kind = 'TRAIN'`, [
      file.sizeBytes,
      file.sha256,
      file.rows,
      round,
    ]);
    if (result.affectedRows !== 1) throw new Error(`expected to update one dataset_files row of round ${round}, updated ${result.affectedRows}`);
  } finally {
    await db.close();
  }
}

type Tool = 'mp' | 'curl+sha256sum' | 'curl';

const TOOL_LABELS: Record<Tool, string> = {
  mp: 'mp data pull --kind train',
  'curl+sha256sum': 'curl -o file && sha256sum file',
  curl: 'curl -o file (unverified)',
};

interface Transfer {
  tool: Tool;
  wallMs: number;
  mbPerSecond: number;
}

function rate(bytes: number, wallMs: number): number {
  return bytes / 2 ** 20 / (wallMs / 1000);
}

async function main(): Promise<void> {
  const build = ensureBuilt();
  const curlVersion = (await runCommand('curl', ['--version'], process.env)).stdout.split('\n')[0] ?? 'curl (unknown version)';
  const sha256sumVersion = (await runCommand('sha256sum', ['--version'], process.env)).stdout.split('\n')[0] ?? 'sha256sum (unknown version)';
  printHeader('download', `256 MiB round file over the signed-URL route: mp data pull vs curl && sha256sum, ${PARALLEL} parallel downloads`, [
    ['build', build],
    ['curl', curlVersion],
    ['sha256sum', sha256sumVersion],
    ['load', loadAverage()],
  ]);

  const dataDir = temporaryDirectory('download-data');
  const work = temporaryDirectory('download-files');
  const serverEnv = childEnv({ MP_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', MP_LOG_LEVEL: 'warn' });

  progress('preparing the data directory with the server stopped: vendor create, rounds create');
  const vendor = await createVendor(serverEnv);
  const created = JSON.parse(
    (await serverCommand(['rounds', 'create', '--from', sp500Csv(), '--name', 'Download bench', '--open', '--json'], serverEnv)).trim().split('\n').pop()!,
  ) as { number: number };
  const roundNumber = created.number;
  const blobFile = path.join(dataDir, 'blobs', 'rounds', String(roundNumber), 'train.csv');
  const originalSize = statSync(blobFile).size;

  progress(`writing a ${mib(FILE_BYTES)} train.csv into the blob store and updating its record`);
  const buildStarted = Date.now();
  const replacement = `${blobFile}.bench`;
  const large = await writeLargeCsv(blobFile, replacement);
  renameSync(replacement, blobFile);
  await updateFileRecord(path.join(dataDir, 'pglite'), roundNumber, large);
  progress(
    `prepared in ${((Date.now() - buildStarted) / 1000).toFixed(1)} s (${large.rows.toLocaleString('en-US')} rows, ${large.sizeBytes.toLocaleString('en-US')} bytes)`,
  );

  progress('starting the compiled server');
  const server = await startServer('mp-server', serverEnv);
  try {
    const pid = server.child.pid!;
    const urlFor = async (): Promise<string> => {
      const { round } = await graphql<DataRoundDownloadsQuery>(
        server.url,
        DataRoundDownloadsDocument.toString(),
        { number: roundNumber, expiresInSeconds: 3600 },
        vendor.apiKey,
      );
      const train = round.files.find((file) => file.kind === 'TRAIN');
      if (!train) throw new Error(`round ${roundNumber} has no TRAIN file: ${JSON.stringify(round.files)}`);
      if (train.sizeBytes !== large.sizeBytes || train.sha256 !== large.sha256) {
        throw new Error(
          `round ${roundNumber}'s TRAIN file record is ${train.sizeBytes} bytes / ${train.sha256}, expected ${large.sizeBytes} / ${large.sha256}`,
        );
      }
      return train.downloadUrl;
    };
    const cliEnv = childEnv({ XDG_CONFIG_HOME: temporaryDirectory('download-config'), MP_API_URL: server.url, MP_API_KEY: vendor.apiKey, NO_COLOR: '1' });

    // One untimed transfer each first, checking that both get the right bytes.
    progress('warm-up: one mp data pull and one curl (checked), untimed');
    const signedUrl = await urlFor();
    const check = path.join(work, 'curl-check');
    const curlCheck = await runCommand('curl', ['-s', '-S', '-f', '-o', check, signedUrl], process.env);
    if (curlCheck.code !== 0) throw new Error(`curl failed (${curlCheck.code}): ${curlCheck.stderr}\n${server.output().slice(-2000)}`);
    const checkHash = createHash('sha256').update(readFileSync(check)).digest('hex');
    if (checkHash !== large.sha256) throw new Error(`curl got bytes with sha256 ${checkHash}, expected ${large.sha256}`);
    rmSync(check);
    const mpCheckDir = path.join(work, 'mp-check');
    const mpCheck = await runCommand(
      process.execPath,
      [CLI_MAIN, 'data', 'pull', '--round', String(roundNumber), '--kind', 'train', '--dir', mpCheckDir, '--json'],
      cliEnv,
    );
    if (mpCheck.code !== 0) throw new Error(`mp data pull exited with ${mpCheck.code}:\n${mpCheck.stdout}${mpCheck.stderr}`);
    const pulled = JSON.parse(mpCheck.stdout) as { files?: { sha256: string; status: string }[] };
    if (pulled.files?.[0]?.sha256 !== large.sha256 || pulled.files[0].status !== 'downloaded')
      throw new Error(`unexpected mp data pull result: ${mpCheck.stdout}`);
    rmSync(mpCheckDir, { recursive: true, force: true });

    const transfers: Transfer[] = [];
    for (let run = 0; run < RUNS_EACH; run += 1) {
      progress(`run ${run + 1}/${RUNS_EACH}: mp data pull, curl && sha256sum, curl`);
      const dir = path.join(work, `mp-${run}`);
      const mp = await runCommand(process.execPath, [CLI_MAIN, 'data', 'pull', '--round', String(roundNumber), '--kind', 'train', '--dir', dir], cliEnv);
      if (mp.code !== 0) throw new Error(`mp data pull exited with ${mp.code}:\n${mp.stdout}${mp.stderr}`);
      if (statSync(path.join(dir, 'train.csv')).size !== large.sizeBytes) throw new Error('mp data pull left a train.csv of the wrong size');
      transfers.push({ tool: 'mp', wallMs: mp.wallMs, mbPerSecond: rate(large.sizeBytes, mp.wallMs) });
      rmSync(dir, { recursive: true, force: true });

      const verifiedUrl = await urlFor();
      const verifiedFile = path.join(work, `curl-sha256sum-${run}`);
      const verified = await runCommand('sh', ['-c', 'curl -s -S -f -o "$1" "$2" && sha256sum "$1"', 'sh', verifiedFile, verifiedUrl], process.env);
      if (verified.code !== 0 || verified.stdout !== `${large.sha256}  ${verifiedFile}\n`) {
        throw new Error(`curl && sha256sum: exit ${verified.code}, "${verified.stdout}" ${verified.stderr}`);
      }
      transfers.push({ tool: 'curl+sha256sum', wallMs: verified.wallMs, mbPerSecond: rate(large.sizeBytes, verified.wallMs) });
      rmSync(verifiedFile, { force: true });

      const url = await urlFor();
      const file = path.join(work, `curl-${run}`);
      const curl = await runCommand('curl', ['-s', '-S', '-f', '-o', file, '-w', '%{http_code} %{size_download}', url], process.env);
      if (curl.code !== 0 || curl.stdout !== `200 ${large.sizeBytes}`) throw new Error(`curl: exit ${curl.code}, "${curl.stdout}" ${curl.stderr}`);
      transfers.push({ tool: 'curl', wallMs: curl.wallMs, mbPerSecond: rate(large.sizeBytes, curl.wallMs) });
      rmSync(file, { force: true });
    }

    // Fixed cost of the CLI, for reading the mp figures: node + the CLI's start (yargs and the commands), no transfer.
    const startRuns: number[] = [];
    for (let i = 0; i < 3; i += 1) startRuns.push((await runCommand(process.execPath, [CLI_MAIN, 'data', 'pull', '--help'], cliEnv)).wallMs);

    // Memory under PARALLEL downloads.
    progress(`server memory: ${IDLE_SAMPLING_MS / 1000} s idle, then ${PARALLEL} parallel curl downloads`);
    const idleSamples: number[] = [];
    const idleUntil = Date.now() + IDLE_SAMPLING_MS;
    while (Date.now() < idleUntil) {
      const rss = rssBytes(pid);
      if (rss !== undefined) idleSamples.push(rss);
      await sleep(SAMPLE_EVERY_MS);
    }
    const idle = summarize(idleSamples).p50;
    const urls = await Promise.all(Array.from({ length: PARALLEL }, () => urlFor()));
    const busySamples: number[] = [];
    const sampler = setInterval(() => {
      const rss = rssBytes(pid);
      if (rss !== undefined) busySamples.push(rss);
    }, SAMPLE_EVERY_MS);
    const parallelStarted = process.hrtime.bigint();
    const results = await Promise.all(
      urls.map((url) => runCommand('curl', ['-s', '-S', '-f', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', url], process.env, 300_000)),
    );
    const parallelMs = Number(process.hrtime.bigint() - parallelStarted) / 1e6;
    clearInterval(sampler);
    const bad = results.filter((result) => result.code !== 0 || result.stdout !== `200 ${large.sizeBytes}`);
    if (bad.length > 0)
      throw new Error(
        `${bad.length} of ${PARALLEL} parallel downloads failed: ${bad
          .map((r) => `exit ${r.code} "${r.stdout}" ${r.stderr}`)
          .join('; ')
          .slice(0, 2000)}`,
      );
    await sleep(500);
    const after = rssBytes(pid) ?? Number.NaN;
    const peak = Math.max(...busySamples);

    // Report.
    console.log(
      `File: round ${roundNumber} train.csv, ${large.sizeBytes.toLocaleString('en-US')} bytes (${mib(large.sizeBytes)}; the real train.csv of the S&P 500 round, ${originalSize.toLocaleString('en-US')} bytes, repeated), served from the blob store by GET /files/... (signed URL). Loopback; MB = 2^20 bytes.`,
    );
    console.log('');
    printTable(
      ['run', 'tool', 'wall time', 'MB/s'],
      transfers.map((transfer, index) => [String(Math.floor(index / 3) + 1), TOOL_LABELS[transfer.tool], ms(transfer.wallMs), transfer.mbPerSecond.toFixed(0)]),
      [2, 3],
    );
    console.log('');
    const median = (tool: Tool) => summarize(transfers.filter((t) => t.tool === tool).map((t) => t.mbPerSecond)).p50;
    const mpMedian = median('mp');
    const verifiedMedian = median('curl+sha256sum');
    const curlMedian = median('curl');
    const ratio = mpMedian / verifiedMedian;
    const growth = peak - idle;
    const targets: [string, string, Target][] = [
      ['mp data pull, median of 3', `${mpMedian.toFixed(0)} MB/s`, info('')],
      ['curl -o file && sha256sum file, median of 3', `${verifiedMedian.toFixed(0)} MB/s`, info('the same verified result')],
      ['curl -o file alone, median of 3', `${curlMedian.toFixed(0)} MB/s`, info('unverified')],
      ['ratio mp / (curl && sha256sum) (medians)', ratio.toFixed(2), atLeast(ratio, 1.0, '>= 1.0')],
      ['ratio mp / curl alone (medians)', (mpMedian / curlMedian).toFixed(2), info('')],
      ['mp data pull --help (fixed start cost), median', ms(summarize(startRuns).p50), info('included in mp wall times')],
      [
        'mp without that start cost (estimate)',
        `${rate(large.sizeBytes, summarize(transfers.filter((t) => t.tool === 'mp').map((t) => t.wallMs)).p50 - summarize(startRuns).p50).toFixed(0)} MB/s`,
        info('median wall - median --help'),
      ],
      [`server RSS idle (median of ${idleSamples.length} samples)`, mib(idle), info('')],
      [`server RSS peak, ${PARALLEL} parallel downloads (${busySamples.length} samples)`, mib(peak), info('')],
      ['server RSS peak - idle', mib(growth), below(growth, 100 * 2 ** 20, '< 100 MiB')],
      ['server RSS 0.5 s after the downloads', mib(after), info('')],
      [`${PARALLEL} parallel downloads: wall time, aggregate`, `${ms(parallelMs)}, ${rate(large.sizeBytes * PARALLEL, parallelMs).toFixed(0)} MB/s`, info('')],
    ];
    printTable(
      ['figure', 'value', 'target', ''],
      targets.map(([label, value, target]) => [label, value, target.label, verdict(target)]),
      [1],
    );
    console.log('');
    console.log("Wall times run from spawn() to the exit event. mp's include node's start, its GraphQL query for the signed URL, hashing");
    console.log("(sha256 while writing) and the rename; curl && sha256sum's include sh, curl's start, the transfer and a second read of the");
    console.log("file to hash it; curl's alone only its start and the transfer. The curl URLs are fetched before the timer. RSS is /proc/<pid>/status VmRSS");
    console.log(`of the server process, sampled every ${SAMPLE_EVERY_MS} ms. Load average at the end: ${loadAverage()}.`);
  } finally {
    await server.stop();
  }
}

runMain(main);

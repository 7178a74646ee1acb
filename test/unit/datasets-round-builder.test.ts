import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { random as randomSource } from '../helpers/random';
import {
  type BuiltRound,
  type PriceRow,
  type RoundFile,
  RoundInputError,
  buildResolution,
  buildRound,
  parsePricesCsv,
} from '../../server/modules/datasets/round-builder';

// ---------------------------------------------------------------------------------------------
// Synthetic fixtures
// ---------------------------------------------------------------------------------------------

/** `count` weekdays from 2019-01-01, YYYY-MM-DD. */
function weekdays(count: number): string[] {
  const dates: string[] = [];
  const day = new Date(Date.UTC(2019, 0, 1));
  while (dates.length < count) {
    const weekday = day.getUTCDay();
    if (weekday !== 0 && weekday !== 6) dates.push(day.toISOString().slice(0, 10));
    day.setUTCDate(day.getUTCDate() + 1);
  }
  return dates;
}

interface SymbolSpec {
  symbol: string;
  /** First calendar day (index) the symbol trades. */
  startDay?: number;
  /** Calendar days (indexes) the symbol has no row. */
  missingDays?: (day: number) => boolean;
}

/** A random-walk daily OHLCV history, rows ordered by date then symbol as in a real multi-symbol file. */
function syntheticPrices(specs: SymbolSpec[], days: number, seed: number): PriceRow[] {
  const random = randomSource(seed);
  const calendar = weekdays(days);
  const close = new Map(specs.map((spec) => [spec.symbol, 50 + 100 * random()]));
  const rows: PriceRow[] = [];
  calendar.forEach((date, day) => {
    for (const spec of specs) {
      const previous = close.get(spec.symbol) ?? 100;
      const next = previous * Math.exp(0.02 * (random() + random() + random() - 1.5) + 0.0002);
      close.set(spec.symbol, next);
      if (day < (spec.startDay ?? 0) || spec.missingDays?.(day)) continue;
      const open = previous * (1 + 0.004 * (random() - 0.5));
      rows.push({
        symbol: spec.symbol,
        date,
        open,
        high: Math.max(open, next) * (1 + 0.01 * random()),
        low: Math.min(open, next) * (1 - 0.01 * random()),
        close: next,
        volume: Math.round(1e6 * (0.5 + random())),
      });
    }
  });
  return rows;
}

/**
 * Eight symbols over 400 weekdays: A..C from the start, D..H from day 100 (so early dates have
 * only 3 symbols and use the trailing-rank normalization, later dates 7 or 8 and use
 * cross-sectional ranks), and B skips every 7th day (its row h rows ahead can lie past an embargo, so such rows must be left out).
 */
function universePrices(seed = 7): PriceRow[] {
  const late = ['D', 'E', 'F', 'G', 'H'].map((symbol) => ({ symbol, startDay: 100 }));
  return syntheticPrices([{ symbol: 'A' }, { symbol: 'B', missingDays: (day) => day % 7 === 3 }, { symbol: 'C' }, ...late], 400, seed);
}

function singleSymbolPrices(seed = 11): PriceRow[] {
  return syntheticPrices([{ symbol: 'SPX' }], 400, seed);
}

/** Every price (and volume) dated after `date` multiplied by a random factor. */
function perturbAfter(prices: PriceRow[], date: string, seed: number): PriceRow[] {
  const random = randomSource(seed);
  return prices.map((row) => {
    if (row.date <= date) return row;
    const factor = 0.5 + random();
    return {
      ...row,
      open: row.open * factor,
      high: row.high * factor,
      low: row.low * factor,
      close: row.close * factor,
      volume: Math.round(row.volume * (0.5 + random())),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Reading a built round back
// ---------------------------------------------------------------------------------------------

interface FileRow {
  kind: RoundFile['kind'];
  symbol: string;
  date: string;
  features: string[];
  target: number | undefined;
}

function fileRows(file: RoundFile): FileRow[] {
  const [header, ...lines] = file.content.trimEnd().split('\n');
  assert.deepEqual(header.split(','), file.columns);
  const hasTarget = file.columns[file.columns.length - 1] === 'target';
  return lines.map((line) => {
    const cells = line.split(',');
    assert.equal(cells.length, file.columns.length, `row "${line}" of ${file.name} has the wrong number of cells`);
    return {
      kind: file.kind,
      symbol: cells[0],
      date: cells[1],
      features: cells.slice(2, hasTarget ? -1 : undefined),
      target: hasTarget ? Number(cells[cells.length - 1]) : undefined,
    };
  });
}

function allRows(round: BuiltRound): FileRow[] {
  return round.files.flatMap(fileRows);
}

function fileOf(round: BuiltRound, kind: RoundFile['kind']): RoundFile {
  const file = round.files.find((candidate) => candidate.kind === kind);
  assert.ok(file, `the round has no ${kind} file`);
  return file;
}

function splitOf(round: BuiltRound, kind: RoundFile['kind']): { firstDate: string; lastDate: string } {
  const split = round.splits.find((candidate) => candidate.kind === kind);
  assert.ok(split, `the round has no ${kind} split`);
  return split;
}

/** For each symbol, its price rows in date order (the input is already sorted within a symbol). */
function seriesBySymbol(prices: PriceRow[]): Map<string, PriceRow[]> {
  const bySymbol = new Map<string, PriceRow[]>();
  for (const row of prices) bySymbol.set(row.symbol, [...(bySymbol.get(row.symbol) ?? []), row]);
  return bySymbol;
}

/** The price row `horizon` rows after (symbol, date) in the symbol's own series. */
function rowAhead(series: Map<string, PriceRow[]>, symbol: string, date: string, horizon: number): PriceRow | undefined {
  const rows = series.get(symbol) ?? [];
  const index = rows.findIndex((row) => row.date === date);
  assert.ok(index >= 0, `${symbol} has no price on ${date}`);
  return rows[index + horizon];
}

function bucket(forward: number, thresholds: number[]): number {
  return thresholds.filter((cut) => forward >= cut).length / 4;
}

const key = (row: { symbol: string; date: string }): string => `${row.symbol}|${row.date}`;

/** Locates the S&P 500 file of the vega-datasets package, or undefined when it is not installed. */
function sp500CsvPath(): string | undefined {
  try {
    return require.resolve('vega-datasets/data/sp500-2000.csv');
  } catch {
    // The package's `exports` map hides data/: find it next to the package's entry point instead.
  }
  try {
    const candidate = path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data', 'sp500-2000.csv');
    return existsSync(candidate) ? candidate : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------

describe('round builder', () => {
  describe('no lookahead: features and targets never use a later price', () => {
    const fixtures: Array<[string, () => PriceRow[]]> = [
      ['an 8-symbol universe (cross-sectional and trailing ranks)', () => universePrices()],
      ['a single symbol (trailing ranks only)', () => singleSymbolPrices()],
    ];
    for (const [label, makePrices] of fixtures) {
      describe(label, () => {
        const prices = makePrices();
        const base = buildRound(prices, { horizonDays: 5 });
        const calendar = [...new Set(prices.map((row) => row.date))].sort();
        const validationFirst = splitOf(base, 'VALIDATION').firstDate;
        const cutDates: Array<[string, string]> = [
          ['inside TRAIN', calendar[180]],
          ['inside VALIDATION', calendar[calendar.indexOf(validationFirst) + 20]],
          ['inside LIVE', calendar[calendar.length - 8]],
        ];
        for (const [where, cut] of cutDates) {
          it(`keeps every feature of every row dated up to a cut ${where} identical when all later prices change`, () => {
            const changed = buildRound(perturbAfter(prices, cut, 99), { horizonDays: 5 });
            const before = allRows(base).filter((row) => row.date <= cut);
            const after = new Map(
              allRows(changed)
                .filter((row) => row.date <= cut)
                .map((row) => [key(row), row]),
            );
            assert.ok(before.length > 50, 'the cut leaves rows to compare');
            assert.equal(after.size, before.length, 'the same rows exist up to the cut');
            for (const row of before) {
              const other = after.get(key(row));
              assert.ok(other, `${key(row)} is still in the round`);
              assert.equal(other.kind, row.kind, `${key(row)} stays in its split`);
              assert.deepEqual(other.features, row.features, `features of ${key(row)} are unchanged`);
            }
            const baseFeatures = new Map(allRows(base).map((row) => [key(row), row.features.join()]));
            const laterChanged = allRows(changed).filter((row) => row.date > cut && baseFeatures.get(key(row)) !== row.features.join());
            assert.ok(laterChanged.length > 0, 'the perturbation does change rows after the cut (the check has teeth)');
          });
        }

        it('keeps every target whose horizon ends by the cut identical, once the TRAIN prices are fixed', () => {
          const cut = cutDates[1][1];
          const changed = buildRound(perturbAfter(prices, cut, 1234), { horizonDays: 5 });
          assert.deepEqual(changed.targetThresholds, base.targetThresholds);
          const series = seriesBySymbol(prices);
          const after = new Map(allRows(changed).map((row) => [key(row), row]));
          let compared = 0;
          for (const row of allRows(base)) {
            if (row.target === undefined) continue;
            const end = rowAhead(series, row.symbol, row.date, 5);
            if (!end || end.date > cut) continue;
            assert.equal(after.get(key(row))?.target, row.target, `target of ${key(row)} is unchanged`);
            compared++;
          }
          assert.ok(compared > 100, `compared ${compared} targets`);
        });
      });
    }
  });

  describe('no leak between splits', () => {
    const cases: Array<[string, () => PriceRow[], { horizonDays: number; embargoDays?: number; liveDays?: number }]> = [
      ['an 8-symbol universe with gaps, horizon 5', () => universePrices(), { horizonDays: 5 }],
      ['an 8-symbol universe with gaps, horizon 10, embargo 15', () => universePrices(3), { horizonDays: 10, embargoDays: 15 }],
      ['a single symbol, horizon 1', () => singleSymbolPrices(), { horizonDays: 1 }],
      ['a single symbol, horizon 20, 5 live days', () => singleSymbolPrices(5), { horizonDays: 20, liveDays: 5 }],
    ];
    for (const [label, makePrices, options] of cases) {
      describe(label, () => {
        const prices = makePrices();
        const round = buildRound(prices, options);
        const series = seriesBySymbol(prices);
        const calendar = [...new Set(prices.map((row) => row.date))].sort();
        const train = splitOf(round, 'TRAIN');
        const validation = splitOf(round, 'VALIDATION');
        const live = splitOf(round, 'LIVE');

        it('ends every TRAIN target strictly before the first VALIDATION date', () => {
          const rows = fileRows(fileOf(round, 'TRAIN'));
          assert.ok(rows.length > 0);
          for (const row of rows) {
            const end = rowAhead(series, row.symbol, row.date, options.horizonDays);
            assert.ok(end && end.date < validation.firstDate, `${key(row)} target ends at ${end?.date}`);
          }
        });

        it('ends every VALIDATION target strictly before the first LIVE date', () => {
          const rows = fileRows(fileOf(round, 'VALIDATION'));
          assert.ok(rows.length > 0);
          for (const row of rows) {
            const end = rowAhead(series, row.symbol, row.date, options.horizonDays);
            assert.ok(end && end.date < live.firstDate, `${key(row)} target ends at ${end?.date}`);
          }
        });

        it('puts no date in two splits and every row inside its split dates', () => {
          const datesOf = new Map<string, Set<string>>();
          for (const file of round.files) {
            const split = splitOf(round, file.kind);
            const dates = new Set(fileRows(file).map((row) => row.date));
            for (const date of dates) assert.ok(date >= split.firstDate && date <= split.lastDate, `${date} is in ${file.kind}`);
            for (const [kind, other] of datesOf) {
              for (const date of dates) assert.ok(!other.has(date), `${date} is in both ${kind} and ${file.kind}`);
            }
            datesOf.set(file.kind, dates);
          }
          assert.ok(train.lastDate < validation.firstDate && validation.lastDate < live.firstDate);
        });

        it('leaves embargo gaps of at least the embargo (and the horizon) in dates between splits', () => {
          const embargo = options.embargoDays ?? options.horizonDays;
          const between = (from: string, to: string): number => calendar.filter((date) => date > from && date < to).length;
          assert.ok(between(train.lastDate, validation.firstDate) >= Math.max(embargo, options.horizonDays));
          assert.ok(between(validation.lastDate, live.firstDate) >= Math.max(embargo, options.horizonDays));
        });

        it('gives LIVE exactly the last live days, features only, listed in file order in `live`', () => {
          const liveFile = fileOf(round, 'LIVE');
          assert.equal(liveFile.columns.includes('target'), false);
          const liveDates = [...new Set(fileRows(liveFile).map((row) => row.date))];
          assert.deepEqual(liveDates, calendar.slice(-(options.liveDays ?? Math.max(options.horizonDays, 20))));
          assert.deepEqual(
            round.live,
            fileRows(liveFile).map(({ symbol, date }) => ({ symbol, date })),
          );
          assert.equal(liveFile.rowCount, round.live.length);
        });
      });
    }
  });

  describe('targets', () => {
    const prices = universePrices();
    const round = buildRound(prices, { horizonDays: 5 });

    it('derives the thresholds from TRAIN only: changing every price from the first VALIDATION date on changes neither them nor train.csv', () => {
      const validationFirst = splitOf(round, 'VALIDATION').firstDate;
      const dayBefore = [...new Set(prices.map((row) => row.date))].filter((date) => date < validationFirst).pop() ?? '';
      const changed = buildRound(perturbAfter(prices, dayBefore, 42), { horizonDays: 5 });
      assert.deepEqual(changed.targetThresholds, round.targetThresholds);
      assert.equal(fileOf(changed, 'TRAIN').content, fileOf(round, 'TRAIN').content);
      assert.notEqual(fileOf(changed, 'VALIDATION').content, fileOf(round, 'VALIDATION').content);
    });

    it('changes the thresholds when TRAIN prices change (they do depend on TRAIN)', () => {
      const changed = buildRound(perturbAfter(prices, '2019-06-01', 42), { horizonDays: 5 });
      assert.notDeepEqual(changed.targetThresholds, round.targetThresholds);
    });

    it('has 4 ascending thresholds and targets only in {0, 0.25, 0.5, 0.75, 1}', () => {
      assert.equal(round.targetThresholds.length, 4);
      for (let i = 1; i < 4; i++) assert.ok(round.targetThresholds[i] > round.targetThresholds[i - 1]);
      for (const row of allRows(round)) {
        if (row.target !== undefined) assert.ok([0, 0.25, 0.5, 0.75, 1].includes(row.target), `target ${row.target}`);
      }
    });

    it('puts roughly 20% of the TRAIN rows in each bucket', () => {
      const rows = fileRows(fileOf(round, 'TRAIN'));
      for (const value of [0, 0.25, 0.5, 0.75, 1]) {
        const share = rows.filter((row) => row.target === value).length / rows.length;
        assert.ok(Math.abs(share - 0.2) < 0.01, `bucket ${value} holds ${(share * 100).toFixed(1)}%`);
      }
    });

    it('buckets each row by its own forward return close[t+h] / close[t] - 1 with the round thresholds', () => {
      const series = seriesBySymbol(prices);
      for (const row of [...fileRows(fileOf(round, 'TRAIN')), ...fileRows(fileOf(round, 'VALIDATION'))]) {
        const start = rowAhead(series, row.symbol, row.date, 0);
        const end = rowAhead(series, row.symbol, row.date, 5);
        assert.ok(start && end);
        assert.equal(row.target, bucket(end.close / start.close - 1, round.targetThresholds), key(row));
      }
    });
  });

  describe('round shape', () => {
    const prices = universePrices();
    const round = buildRound(prices, { horizonDays: 5 });

    it('writes symbol, date, the features and target (LIVE without target), header first, \\n line ends', () => {
      for (const file of round.files) {
        const expected = ['symbol', 'date', ...round.featureNames, ...(file.kind === 'LIVE' ? [] : ['target'])];
        assert.deepEqual(file.columns, expected);
        assert.equal(file.content.includes('\r'), false);
        assert.ok(file.content.startsWith(`${expected.join(',')}\n`));
        assert.equal(file.rowCount, file.content.trimEnd().split('\n').length - 1);
      }
      assert.deepEqual(
        round.files.map((file) => file.name),
        ['train.csv', 'validation.csv', 'live.csv'],
      );
    });

    it('orders rows by date then symbol and rounds every feature to a 0..1 rank with at most 4 decimals', () => {
      for (const file of round.files) {
        const rows = fileRows(file);
        for (let i = 1; i < rows.length; i++) {
          const [a, b] = [rows[i - 1], rows[i]];
          assert.ok(a.date < b.date || (a.date === b.date && a.symbol < b.symbol), `${key(a)} before ${key(b)}`);
        }
        for (const row of rows) {
          for (const cell of row.features) {
            assert.match(cell, /^(0|1|0\.\d{1,4})$/, `${key(row)} has feature value ${cell}`);
          }
        }
      }
    });

    it('drops the first 60 rows of each symbol (the warm-up) and lists the symbols used', () => {
      const series = seriesBySymbol(prices);
      const firstRow = new Map<string, string>();
      for (const row of allRows(round)) if (!firstRow.has(row.symbol)) firstRow.set(row.symbol, row.date);
      assert.deepEqual(round.symbols, ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H']);
      for (const [symbol, rows] of series) assert.ok((firstRow.get(symbol) ?? '') >= rows[60].date, symbol);
      assert.equal(firstRow.get('A'), series.get('A')?.[60].date);
    });

    it('reports the horizon and thirteen feature names', () => {
      assert.equal(round.horizonDays, 5);
      assert.equal(round.featureNames.length, 13);
    });
  });

  describe('bad build input', () => {
    const prices = singleSymbolPrices();

    it('rejects too little history, saying how many dates are needed and how many there were', () => {
      assert.throws(
        () => buildRound(prices.slice(0, 100), { horizonDays: 5 }),
        (error: unknown) =>
          error instanceof RoundInputError &&
          /need at least 55 dates after the 60-day warm-up .*got 40/.test(error.message) &&
          /at least 115 rows/.test(error.message),
      );
    });

    it('rejects a file shorter than the warm-up with 0 usable dates', () => {
      assert.throws(() => buildRound(prices.slice(0, 30), { horizonDays: 5 }), /need at least 55 dates after the 60-day warm-up .*got 0/);
    });

    it('rejects an empty price list', () => {
      assert.throws(() => buildRound([], { horizonDays: 5 }), RoundInputError);
    });

    const badOptions: Array<[string, { horizonDays: number; embargoDays?: number; liveDays?: number; validationFraction?: number }, RegExp]> = [
      ['a horizon of 0', { horizonDays: 0 }, /horizon is 0 .*1 to 260/],
      ['a horizon of 261', { horizonDays: 261 }, /horizon is 261/],
      ['a fractional horizon', { horizonDays: 2.5 }, /whole number/],
      ['an embargo shorter than the horizon', { horizonDays: 5, embargoDays: 4 }, /embargo is 4 .*at least the horizon \(5\)/],
      ['no live days', { horizonDays: 5, liveDays: 0 }, /live period is 0/],
      ['a validation fraction of 1', { horizonDays: 5, validationFraction: 1 }, /validation fraction is 1/],
      ['a validation fraction of 0', { horizonDays: 5, validationFraction: 0 }, /validation fraction is 0/],
    ];
    for (const [label, options, message] of badOptions) {
      it(`rejects ${label}`, () => {
        assert.throws(
          () => buildRound(prices, options),
          (error: unknown) => error instanceof RoundInputError && message.test(error.message),
        );
      });
    }

    it('rejects price rows out of date order instead of sorting them', () => {
      const shuffled = [...prices];
      [shuffled[10], shuffled[11]] = [shuffled[11], shuffled[10]];
      assert.throws(() => buildRound(shuffled, { horizonDays: 5 }), /sort the file by date/);
    });

    it('rejects a repeated (symbol, date) and a non-positive close', () => {
      assert.throws(() => buildRound([...prices.slice(0, 11), prices[10], ...prices.slice(11)], { horizonDays: 5 }), /one row per symbol and date/);
      const zero = prices.map((row, i) => (i === 7 ? { ...row, close: 0 } : row));
      assert.throws(() => buildRound(zero, { horizonDays: 5 }), /close 0; prices must be numbers greater than 0/);
    });
  });

  describe('resolution', () => {
    it('round-trips: built up to a date, resolved with the full series, targets match the forward returns computed directly', () => {
      const full = universePrices(21);
      const calendar = [...new Set(full.map((row) => row.date))].sort();
      const cutoff = calendar[calendar.length - 15];
      const round = buildRound(
        full.filter((row) => row.date <= cutoff),
        { horizonDays: 5 },
      );
      assert.equal(round.live.length, fileOf(round, 'LIVE').rowCount);
      const resolution = buildResolution(full, round);
      assert.equal(resolution.name, 'resolution.csv');
      assert.deepEqual(resolution.columns, ['symbol', 'date', 'target', 'forward_return']);
      assert.equal(resolution.rowCount, round.live.length);
      const series = seriesBySymbol(full);
      const lines = resolution.content.trimEnd().split('\n').slice(1);
      assert.equal(lines.length, round.live.length);
      lines.forEach((line, i) => {
        const [symbol, date, target, forwardReturn] = line.split(',');
        assert.deepEqual({ symbol, date }, round.live[i]);
        const start = rowAhead(series, symbol, date, 0);
        const end = rowAhead(series, symbol, date, 5);
        assert.ok(start && end);
        const expected = end.close / start.close - 1;
        assert.equal(Number(target), bucket(expected, round.targetThresholds), `${symbol} ${date}`);
        assert.ok(Math.abs(Number(forwardReturn) - expected) < 1e-8);
      });
    });

    it('names how many live rows are unresolved and the last date needed vs available when the prices stop too early', () => {
      const prices = singleSymbolPrices();
      const round = buildRound(prices, { horizonDays: 5 });
      const calendar = prices.map((row) => row.date);
      const newer = syntheticPrices([{ symbol: 'SPX' }], 402, 11);
      assert.throws(
        () => buildResolution(newer, round),
        (error: unknown) =>
          error instanceof RoundInputError &&
          error.message.includes('3 of the 20 live rows cannot be resolved yet') &&
          error.message.includes(`5 trading days after ${calendar[calendar.length - 1]}`) &&
          error.message.includes(`prices end at ${newer[newer.length - 1].date}`),
      );
    });

    it('rejects prices that lack a live row', () => {
      const prices = singleSymbolPrices();
      const round = buildRound(prices, { horizonDays: 5 });
      const other = syntheticPrices([{ symbol: 'NDX' }], 420, 11);
      assert.throws(() => buildResolution(other, round), /no row for 20 of the 20 live rows \(first: SPX on/);
    });

    it('rejects thresholds that are not 4 ascending numbers', () => {
      const prices = singleSymbolPrices();
      const round = buildRound(prices, { horizonDays: 5 });
      assert.throws(() => buildResolution(prices, { ...round, targetThresholds: [0.1, 0] }), /4 ascending numbers/);
    });
  });

  describe('the real S&P 500 history (vega-datasets)', () => {
    let csv = '';
    before(function () {
      const file = sp500CsvPath();
      if (!file) this.skip();
      else csv = readFileSync(file, 'utf8');
    });

    it('builds with horizon 5 in well under a second or two: TRAIN 4012, VALIDATION 1003, LIVE 20 rows', () => {
      const started = performance.now();
      const prices = parsePricesCsv(csv);
      const round = buildRound(prices, { horizonDays: 5 });
      const elapsed = performance.now() - started;
      assert.equal(prices.length, 5105);
      assert.deepEqual(round.symbols, ['SPX']);
      assert.deepEqual(
        round.files.map((file) => [file.kind, file.rowCount]),
        [
          ['TRAIN', 4012],
          ['VALIDATION', 1003],
          ['LIVE', 20],
        ],
      );
      assert.deepEqual(round.splits, [
        { kind: 'TRAIN', firstDate: '2000-03-29', lastDate: '2016-03-10' },
        { kind: 'VALIDATION', firstDate: '2016-03-18', lastDate: '2020-03-12' },
        { kind: 'LIVE', firstDate: '2020-03-20', lastDate: '2020-04-17' },
      ]);
      assert.ok(elapsed < 2000, `took ${elapsed.toFixed(0)} ms`);
    });

    it('resolves a round built without its last 30 days from the full file', () => {
      const prices = parsePricesCsv(csv);
      const round = buildRound(prices.slice(0, -30), { horizonDays: 5 });
      const resolution = buildResolution(prices, round);
      assert.equal(resolution.rowCount, 20);
      const byDate = new Map(prices.map((row, i) => [row.date, i]));
      for (const line of resolution.content.trimEnd().split('\n').slice(1)) {
        const [, date, target] = line.split(',');
        const i = byDate.get(date) ?? -1;
        assert.equal(Number(target), bucket(prices[i + 5].close / prices[i].close - 1, round.targetThresholds));
      }
    });

    it('keeps features dated up to 2010-06-30 identical when every later price changes', () => {
      const prices = parsePricesCsv(csv);
      const cut = '2010-06-30';
      const base = allRows(buildRound(prices, { horizonDays: 5 })).filter((row) => row.date <= cut);
      const changed = new Map(allRows(buildRound(perturbAfter(prices, cut, 5), { horizonDays: 5 })).map((row) => [key(row), row.features.join()]));
      assert.ok(base.length > 2500);
      for (const row of base) assert.equal(changed.get(key(row)), row.features.join(), key(row));
    });
  });
});

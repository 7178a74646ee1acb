import { strict as assert } from 'node:assert';
import { RoundInputError, parsePricesCsv } from '../../server/modules/datasets/round-builder';

const HEADER = 'date,open,high,low,close,volume';

/** Asserts that parsing `text` throws a RoundInputError on `line` whose message matches `message`. */
function assertRejects(text: string, line: number | undefined, message: RegExp, options?: { symbolColumn?: string; symbol?: string }): void {
  assert.throws(
    () => parsePricesCsv(text, options),
    (error: unknown) => {
      assert.ok(error instanceof RoundInputError, `expected a RoundInputError, got ${String(error)}`);
      assert.equal(error.line, line);
      if (line !== undefined) assert.ok(error.message.startsWith(`line ${line}: `), error.message);
      assert.match(error.message, message);
      return true;
    },
  );
}

describe('round builder: parsing price CSV', () => {
  describe('good input', () => {
    it('reads a one-symbol file, uses close (not adjclose) and gives every row the default symbol SPX', () => {
      const rows = parsePricesCsv(
        'date,open,high,low,close,adjclose,volume\n2000-01-03,1469.25,1478,1438.36,1455.22,1000,931800000\n2000-01-04,1455.22,1455.22,1397.43,1399.42,999,1009000000\n',
      );
      assert.deepEqual(rows, [
        { symbol: 'SPX', date: '2000-01-03', open: 1469.25, high: 1478, low: 1438.36, close: 1455.22, volume: 931800000 },
        { symbol: 'SPX', date: '2000-01-04', open: 1455.22, high: 1455.22, low: 1397.43, close: 1399.42, volume: 1009000000 },
      ]);
    });

    it('gives every row the symbol option when there is no symbol column', () => {
      const rows = parsePricesCsv(`${HEADER}\n2020-01-02,1,2,1,1.5,10`, { symbol: 'NDX' });
      assert.equal(rows[0].symbol, 'NDX');
    });

    it('matches header names case-insensitively, in any order, and finds a `ticker` column by itself', () => {
      const rows = parsePricesCsv('Ticker,Volume,Close,Low,High,Open,Date\nAAPL,5,1.5,1,2,1.2,2020-01-02\nMSFT,6,3,2.5,3.5,3,2020-01-02\n');
      assert.deepEqual(
        rows.map((row) => [row.symbol, row.date, row.open, row.close, row.volume]),
        [
          ['AAPL', '2020-01-02', 1.2, 1.5, 5],
          ['MSFT', '2020-01-02', 3, 3, 6],
        ],
      );
    });

    it('uses the column named by symbolColumn', () => {
      const rows = parsePricesCsv(`name,${HEADER}\nAAA,2020-01-02,1,2,1,1.5,10\n`, { symbolColumn: 'NAME' });
      assert.equal(rows[0].symbol, 'AAA');
    });

    it('reads CRLF line ends exactly like LF', () => {
      const lf = `symbol,${HEADER}\nA,2020-01-02,1,2,1,1.5,10\nA,2020-01-03,1.5,2,1,1.7,11\n`;
      assert.deepEqual(parsePricesCsv(lf.replace(/\n/g, '\r\n')), parsePricesCsv(lf));
    });

    it('reads quoted fields: quoted names and numbers, commas, doubled quotes and line breaks inside quotes', () => {
      const text =
        '"symbol","date","open","high","low","close","volume","note"\n' +
        '"BRK,B",2020-01-02,"1","2","1","1.5","10","said ""hi"""\n' +
        '"BRK,B",2020-01-03,1,2,1,1.6,10,"two\nlines"\n' +
        '"BRK,B",2020-01-06,1,2,1,1.7,10,""\n';
      const rows = parsePricesCsv(text);
      assert.deepEqual(
        rows.map((row) => [row.symbol, row.date, row.close]),
        [
          ['BRK,B', '2020-01-02', 1.5],
          ['BRK,B', '2020-01-03', 1.6],
          ['BRK,B', '2020-01-06', 1.7],
        ],
      );
    });

    it('ignores a byte-order mark, blank lines and surrounding spaces', () => {
      const rows = parsePricesCsv(`\uFEFF${HEADER}\n\n 2020-01-02 , 1 , 2 , 1 , 1.5 , 10 \n\n`);
      assert.deepEqual(rows, [{ symbol: 'SPX', date: '2020-01-02', open: 1, high: 2, low: 1, close: 1.5, volume: 10 }]);
    });

    it('accepts several symbols interleaved, each in date order, and keeps file order', () => {
      const rows = parsePricesCsv(
        `symbol,${HEADER}\nB,2020-01-02,1,2,1,1.5,10\nA,2020-01-02,1,2,1,1.5,10\nB,2020-01-03,1,2,1,1.5,10\nA,2020-01-03,1,2,1,1.5,0\n`,
      );
      assert.deepEqual(
        rows.map((row) => `${row.symbol} ${row.date}`),
        ['B 2020-01-02', 'A 2020-01-02', 'B 2020-01-03', 'A 2020-01-03'],
      );
    });
  });

  describe('bad input gets a RoundInputError with its line number', () => {
    it('rejects an empty file', () => {
      assertRejects('', undefined, /the price file is empty; it needs a header line/);
      assertRejects('\n\r\n\n', undefined, /the price file is empty/);
    });

    it('rejects a header with no data rows', () => {
      assertRejects(`${HEADER}\n`, 1, /header but no data rows/);
    });

    it('names the missing columns and lists the columns found', () => {
      assertRejects('Date,Open,High,Close\n2020-01-02,1,2,1.5\n', 1, /missing the columns low, volume \(columns found: Date, Open, High, Close\)/);
      assertRejects('date,open,high,low,volume\n2020-01-02,1,2,1,10\n', 1, /missing the column close \(/);
    });

    it('rejects a symbolColumn that is not in the header', () => {
      assertRejects(`${HEADER}\n2020-01-02,1,2,1,1.5,10\n`, 1, /symbol column "ric" is not in the header \(columns found: date, open/, { symbolColumn: 'ric' });
    });

    it('rejects a column named twice', () => {
      assertRejects(`${HEADER},Close\n2020-01-02,1,2,1,1.5,10,1.5\n`, 1, /names column "close" twice/);
    });

    it('gives the line, column and value of an unparsable number', () => {
      assertRejects(`${HEADER}\n2020-01-02,1,2,1,1.5,10\n2020-01-03,1,2,1,abc,10\n`, 3, /"abc" in column "close" is not a number/);
      assertRejects(`${HEADER}\n2020-01-02,1,2,1,1.5,10\n2020-01-03,1,2,1,"1,5",10\n`, 3, /"1,5" in column "close" is not a number/);
      assertRejects(`${HEADER}\n2020-01-02,1,2,1,1.5,\n`, 2, /the value in column "volume" is empty/);
      assertRejects(`${HEADER}\n2020-01-02,1,2,1,NaN,10\n`, 2, /"NaN" in column "close" is not a number/);
    });

    it('rejects a price of zero or below and a negative volume', () => {
      assertRejects(`${HEADER}\n2020-01-02,1,2,1,1.5,10\n2020-01-03,0,2,1,1.5,10\n`, 3, /open is 0 but prices must be greater than 0/);
      assertRejects(`${HEADER}\n2020-01-02,1,2,1,-1.5,10\n`, 2, /close is -1.5 but prices must be greater than 0/);
      assertRejects(`${HEADER}\n2020-01-02,1,2,1,1.5,-10\n`, 2, /volume is -10 but it cannot be negative/);
    });

    it('rejects high below low', () => {
      assertRejects(`${HEADER}\n2020-01-02,1,2,1,1.5,10\n2020-01-03,1.5,1,2,1.5,10\n`, 3, /high \(1\) is below low \(2\)/);
    });

    it('rejects invalid dates and says to write YYYY-MM-DD', () => {
      assertRejects(`${HEADER}\n2020-02-30,1,2,1,1.5,10\n`, 2, /"2020-02-30" in column "date" is not a valid date; write dates as YYYY-MM-DD/);
      assertRejects(`${HEADER}\n04/17/2020,1,2,1,1.5,10\n`, 2, /"04\/17\/2020" .* not a valid date/);
      assertRejects(`${HEADER}\n,1,2,1,1.5,10\n`, 2, /"" in column "date" is not a valid date/);
    });

    it('rejects a duplicate (symbol, date), naming the first line', () => {
      assertRejects(
        `${HEADER}\n2020-01-02,1,2,1,1.5,10\n2020-01-03,1,2,1,1.5,10\n2020-01-02,1,2,1,1.5,10\n`,
        4,
        /SPX on 2020-01-02 appears twice \(first on line 2\)/,
      );
      assertRejects(`symbol,${HEADER}\nA,2020-01-02,1,2,1,1.5,10\nB,2020-01-02,1,2,1,1.5,10\nA,2020-01-02,1,2,1,1.5,10\n`, 4, /A on 2020-01-02 appears twice/);
    });

    it('rejects rows out of date order within a symbol and says to sort the file by date', () => {
      assertRejects(
        `${HEADER}\n2020-01-03,1,2,1,1.5,10\n2020-01-02,1,2,1,1.5,10\n`,
        3,
        /SPX on 2020-01-02 comes after SPX on 2020-01-03 \(line 2\).*sort the file by date/,
      );
    });

    it('rejects a row with the wrong number of fields', () => {
      assertRejects(`${HEADER}\n2020-01-02,1,2,1,1.5,10\n2020-01-03,1,2,1,1.5\n`, 3, /the row has 5 fields but the header has 6/);
    });

    it('rejects an empty symbol', () => {
      assertRejects(`symbol,${HEADER}\n,2020-01-02,1,2,1,1.5,10\n`, 2, /symbol column "symbol" is empty/);
    });

    it('rejects a quoted field that is never closed, on the line where it opens', () => {
      assertRejects(`${HEADER}\n2020-01-02,1,2,1,1.5,10\n"2020-01-03,1,2,1,1.5,10\n2020-01-04,1,2,1,1.5,10\n`, 3, /never closed/);
    });

    it('rejects a stray quote inside an unquoted field and text after a closing quote', () => {
      assertRejects(`${HEADER}\n2020-01-02,1,2,1,1"5,10\n`, 2, /double quote appears inside an unquoted field/);
      assertRejects(`${HEADER}\n2020-01-02,1,2,1,"1"5,10\n`, 2, /text follows the closing quote/);
    });

    it('counts physical lines, including line breaks inside quoted fields and CRLF ends, in the line number', () => {
      const text = `${HEADER},note\r\n2020-01-02,1,2,1,1.5,10,"a\r\nb\r\nc"\r\n2020-01-03,1,2,1,x,10,ok\r\n`;
      assertRejects(text, 5, /"x" in column "close" is not a number/);
    });
  });
});

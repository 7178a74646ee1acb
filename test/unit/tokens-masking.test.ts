import assert from 'node:assert/strict';
import { randomBase62 } from '../../server/db/ids';
import { SecretValues, TokenFormat, maskText, maskTokens } from '../../server/tokens';

const apiKeys = new TokenFormat('vk', 'API key', 'key');
const deploymentTokens = new TokenFormat('sit', 'deployment token', 'token');

/** A real token, what its masked form shows, and what must never be shown. */
function realToken(format = apiKeys) {
  const { token, lookup } = format.generate();
  const head = `${format.prefix}_${lookup}_`;
  return { token, head, tail: token.slice(head.length), masked: `${head}[REDACTED]` };
}

/** The same shape with its last character changed: the checksum no longer matches. */
function withWrongChecksum(token: string): string {
  const changed = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
  assert.equal(apiKeys.parse(changed).ok, false);
  return changed;
}

function assertNoTail(masked: string, tail: string): void {
  // Any 8 consecutive characters of the secret would be a leak.
  for (let at = 0; at + 8 <= tail.length; at++) assert.ok(!masked.includes(tail.slice(at, at + 8)), `part of the secret survived in ${masked}`);
}

describe('masking tokens by their format', () => {
  describe('keys next to word characters (each was stored in clear with word-boundary masking)', () => {
    const { token, tail, masked } = realToken();
    const holes: [string, string, string][] = [
      ['a URL-encoded bearer value', `GET /x?h=Bearer%20${token}`, 'GET /x?h=Bearer%20[REDACTED]'],
      ['a JSON-escaped newline before the key', JSON.stringify(`config:\n${token}`), `"config:\\n${masked}"`],
      ['a digit before the key', `1${token}`, `1${masked}`],
      ['a letter before the key', `X${token}`, `X${masked}`],
      ['a word and an underscore before the key', `apikey_${token}`, `apikey_${masked}`],
      ['an underscore and a word after the key', `${token}_old`, `${masked}_old`],
      ['letters right after the key', `${token}abc`, `${masked}abc`],
    ];
    for (const [name, text, expected] of holes) {
      it(`masks ${name}`, () => {
        const result = maskTokens(text);
        assertNoTail(result, tail);
        assert.equal(result, expected);
      });
    }
  });

  it('keeps the lookup id of a masked token (it is not secret: `mp keys list` shows it) and masks the secret', () => {
    const { token, head, masked } = realToken();
    assert.equal(maskTokens(`using ${token} now`), `using ${masked} now`);
    assert.ok(masked.startsWith(head));
  });

  it('masks deployment tokens (sit_) the same way', () => {
    const { token, tail, masked } = realToken(deploymentTokens);
    assert.equal(maskTokens(`heartbeat with Xsit${token.slice(3)}_x`), `heartbeat with X${masked}_x`);
    assertNoTail(maskTokens(`deposit${token.slice(3)}`), tail);
  });

  it('masks infrastructure client secrets (ic_) the same way, in a form body and in a Basic credential too', () => {
    const { token, tail, masked } = realToken(new TokenFormat('ic', 'infrastructure client secret', 'secret'));
    assert.equal(maskTokens(`client_secret=${token}&x=1`), `client_secret=${masked}&x=1`);
    assertNoTail(maskTokens(`basic${token.slice(2)}`), tail);
    assert.equal(maskTokens(`Authorization: Basic ${Buffer.from(`icl_x:${token}`).toString('base64')}`), 'Authorization: Basic [REDACTED]');
  });

  it('masks every token of a line, and tokens glued together', () => {
    const first = realToken();
    const second = realToken(deploymentTokens);
    assert.equal(maskTokens(`${first.token}${second.token} ${first.token}`), `${first.masked}${second.masked} ${first.masked}`);
  });

  describe('the checksum', () => {
    it('ends a token whose checksum verifies exactly after its 50 characters: what follows is kept', () => {
      const { token, masked } = realToken();
      assert.equal(maskTokens(`${token}Z9`), `${masked}Z9`);
    });

    it('masks a token-shaped value whose checksum is wrong (a mistyped key), with what follows it', () => {
      const { token, tail, head } = realToken();
      const mistyped = withWrongChecksum(token);
      assert.equal(maskTokens(`key=${mistyped}`), `key=${head}[REDACTED]`);
      assert.equal(maskTokens(`key=${mistyped}abc`), `key=${head}[REDACTED]`);
      assertNoTail(maskTokens(`key=${mistyped}abc`), tail);
    });

    it('masks a truncated token once 8 or more characters follow its lookup id', () => {
      const { token, head } = realToken();
      assert.equal(maskTokens(`${token.slice(0, head.length + 30)} (cut)`), `${head}[REDACTED] (cut)`);
      assert.equal(maskTokens(token.slice(0, head.length + 8)), `${head}[REDACTED]`);
    });

    it('leaves a fragment of fewer than 8 characters after the lookup id (over 140 bits of the secret stay unknown)', () => {
      const { token, head } = realToken();
      const fragment = token.slice(0, head.length + 7);
      assert.equal(maskTokens(fragment), fragment);
    });

    it('masks a token whose start was cut off (the kept end of a long text)', () => {
      const { token, tail } = realToken();
      const cut = `…${token.slice(8)} | next`;
      assert.equal(maskTokens(cut), `…${token.slice(8, token.length - tail.length)}[REDACTED] | next`);
    });

    it('masks a token with a lookup id of the wrong length by its 38-character tail', () => {
      const { token, tail } = realToken();
      assertNoTail(maskTokens(`vk_x${token.slice(3)}`), tail);
    });

    it('masks a token glued right after 36 letters and digits that follow an underscore', () => {
      const { token, tail, masked } = realToken();
      const text = `x_${randomBase62(36)}${token}abc`;
      assert.equal(maskTokens(text), `${text.slice(0, 38)}${masked}abc`);
      assertNoTail(maskTokens(text), tail);
    });

    it('masks a token whose start was cut off when a whole token follows it', () => {
      const cut = realToken();
      const whole = realToken();
      assert.equal(maskTokens(`…${cut.token.slice(10)}${whole.token}`), `…${cut.token.slice(10, cut.head.length)}[REDACTED]${whole.masked}`);
    });

    it('does not let a cut token swallow the prefix of a whole token glued to it', () => {
      const first = realToken();
      const second = realToken();
      const text = `${first.token.slice(0, first.head.length + 20)}${second.token}`;
      const result = maskTokens(text);
      assertNoTail(result, second.tail);
      assert.equal(result, `${first.head}[REDACTED]${second.masked}`);
    });
  });

  describe('credentials in free text', () => {
    it('masks a bearer value after a space, %20 or + (form encoding), in either case of "bearer"', () => {
      assert.equal(maskTokens('auth: Bearer s3cr3t-t0ken'), 'auth: Bearer [REDACTED]');
      assert.equal(maskTokens('h=Bearer%20abc.def&next=1'), 'h=Bearer%20[REDACTED]&next=1');
      assert.equal(maskTokens('h=Bearer+abc.def'), 'h=Bearer+[REDACTED]');
      assert.equal(maskTokens('the bearer\tabc'), 'the bearer\t[REDACTED]');
    });

    it('masks the value of an authorization header, keeping its scheme, in text, query strings and JSON', () => {
      assert.equal(maskTokens('Authorization: Basic dXNlcjpwYXNz'), 'Authorization: Basic [REDACTED]');
      assert.equal(maskTokens('proxy-authorization=tok123&x=1'), 'proxy-authorization=[REDACTED]&x=1');
      assert.equal(maskTokens('{"authorization":"opaque-value","x":1}'), '{"authorization":"[REDACTED]","x":1}');
      assert.equal(maskTokens('"{\\"Authorization\\": \\"token abc\\"}"'), '"{\\"Authorization\\": \\"token [REDACTED]\\"}"');
      assert.equal(maskTokens('AUTHORIZATION = Bearer xyz'), 'AUTHORIZATION = Bearer [REDACTED]');
      assert.equal(maskTokens('authorization: AbC+dEf/gH=='), 'authorization: [REDACTED]');
      assert.equal(maskTokens('authorization=Bearer+xyz'), 'authorization=[REDACTED]');
    });

    it('masks a token given as the scheme-less value of an authorization header', () => {
      const { token, tail } = realToken();
      const result = maskTokens(`authorization: ${token} next`);
      assertNoTail(result, tail);
      assert.equal(result, 'authorization: [REDACTED] next');
    });
  });

  describe('no false positives', () => {
    const ordinary = [
      'vk_',
      'vk_ alone',
      'sit_',
      'my_vk_setting',
      'deposit_amount_usd',
      'visit_confirmation_page',
      'short',
      '',
      'epoch 3/10 loss=0.1234 acc=0.98',
      `run_${randomBase62(16)} ven_${randomBase62(16)}`,
      `the key vk_${randomBase62(12)}_… (mp keys list)`,
      `sha256_${'0123456789abcdef'.repeat(4)}`,
      `commit_${'a1b2c3d4e5'.repeat(4)}`,
      'authorization failed for this key',
      'the Bearer',
      'model_v2_final_weights.bin',
      'é✓😀 vk_é',
    ];
    for (const text of ordinary) {
      it(`leaves ${JSON.stringify(text)} as it is`, () => assert.equal(maskTokens(text), text));
    }
  });
});

describe('masking exact secret values', () => {
  it('masks a value as given, percent-encoded and JSON-escaped', () => {
    const secrets = new SecretValues(['p@ss w"rd/42']);
    assert.equal(secrets.mask('a p@ss w"rd/42 b'), 'a [REDACTED] b');
    assert.equal(secrets.mask('postgres://u:p%40ss%20w%22rd%2F42@h/db'), 'postgres://u:[REDACTED]@h/db');
    assert.equal(secrets.mask('{"msg":"pw p@ss w\\"rd/42"}'), '{"msg":"pw [REDACTED]"}');
  });

  it('masks every occurrence, next to any character', () => {
    const secret = randomBase62(43);
    const secrets = new SecretValues([secret]);
    assert.equal(secrets.mask(`x${secret}${secret}_y`), 'x[REDACTED][REDACTED]_y');
  });

  it('masks a longer value whole when a shorter one is part of it', () => {
    const secrets = new SecretValues(['abcd', 'xxabcdyy']);
    assert.equal(secrets.mask('xxabcdyy abcd'), '[REDACTED] [REDACTED]');
  });

  it('ignores values shorter than 4 characters, which would blank out ordinary words', () => {
    const secrets = new SecretValues(['', 'a', 'pw!']);
    assert.equal(secrets.mask('a pw! here'), 'a pw! here');
  });

  it('masks values added later, and changes nothing when there is nothing to mask', () => {
    const secrets = new SecretValues();
    assert.equal(secrets.mask('nothing here'), 'nothing here');
    secrets.add('late-secret');
    assert.equal(secrets.mask('a late-secret'), 'a [REDACTED]');
  });

  it('masks exact values and token shapes together', () => {
    const { token, masked } = realToken();
    const secrets = new SecretValues(['signing-secret-value']);
    assert.equal(maskText(`signing-secret-value ${token}`, secrets), `[REDACTED] ${masked}`);
  });
});

import assert from 'node:assert/strict';
import { hashSecret, knownToMatch, verifySecret } from '../../server/tokens/secret-hash';

describe('secret hashing (argon2id, bounded)', function () {
  this.timeout(60_000);

  it('refuses a burst of checks beyond what may wait for a hash', async () => {
    const hash = await hashSecret('tok_burst_secret');
    const results = await Promise.allSettled(Array.from({ length: 100 }, () => verifySecret(hash, 'tok_wrong_secret')));
    const refused = results.filter((result) => result.status === 'rejected');
    assert.ok(refused.length > 0, 'some of 100 checks at once were refused');
    assert.match(String((refused[0] as PromiseRejectedResult).reason), /busy checking credentials/);
    assert.ok(results.every((result) => result.status === 'rejected' || result.value === false));
  });

  it('checks a secret that matched before without hashing again, so re-checks of live credentials are never refused as busy', async () => {
    const hash = await hashSecret('tok_known_secret');
    assert.equal(knownToMatch(hash, 'tok_known_secret'), false, 'hashing alone proves nothing');
    assert.equal(await verifySecret(hash, 'tok_known_secret'), true);
    assert.equal(knownToMatch(hash, 'tok_known_secret'), true);
    const results = await Promise.allSettled(Array.from({ length: 100 }, () => verifySecret(hash, 'tok_known_secret')));
    assert.deepEqual(
      results.map((result) => result.status === 'fulfilled' && result.value),
      Array.from({ length: 100 }, () => true),
    );
  });

  it('knows a match only for that hash: a wrong secret, or the same secret hashed anew (a rotation), is checked by argon2', async () => {
    const hash = await hashSecret('tok_rotated_secret');
    assert.equal(await verifySecret(hash, 'tok_rotated_secret'), true);
    assert.equal(await verifySecret(hash, 'tok_rotated_secrex'), false);
    assert.equal(knownToMatch(hash, 'tok_rotated_secrex'), false, 'a wrong secret is never remembered');
    const again = await hashSecret('tok_rotated_secret');
    assert.notEqual(again, hash, 'a new salt');
    assert.equal(knownToMatch(again, 'tok_rotated_secret'), false);
    assert.equal(await verifySecret(again, 'tok_rotated_secret'), true);
  });
});

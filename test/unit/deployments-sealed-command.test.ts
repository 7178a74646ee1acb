import assert from 'node:assert/strict';
import { CommandSeal } from '../../server/modules/deployments/sealed-command';

describe('deployment commands between processes', function () {
  const command = { deploymentId: 'dep_1', env: { MP_DEPLOYMENT_TOKEN: 'sit_abcdefghijkl_secretsecretsecretsecretsecretse1a2b3c' } };

  it('opens what a process with the same signing secret sealed, and never shows the token in the payload', function () {
    const sealed = new CommandSeal(Buffer.from('the shared signing secret, 32 bytes or more')).seal(command);
    assert.ok(!sealed.includes('sit_') && !sealed.includes('secretsecret'));
    assert.deepEqual(new CommandSeal(Buffer.from('the shared signing secret, 32 bytes or more')).open(sealed), command);
  });

  it('refuses a payload sealed with another secret, tampered with, or not sealed at all', function () {
    const seal = new CommandSeal(Buffer.from('the shared signing secret, 32 bytes or more'));
    const sealed = seal.seal(command);
    assert.equal(new CommandSeal(Buffer.from('another secret of the same kind, 32 bytes')).open(sealed), null);
    const [iv, tag, body] = sealed.split('.');
    const flipped = Buffer.from(body, 'base64url');
    flipped[0] ^= 1;
    assert.equal(seal.open([iv, tag, flipped.toString('base64url')].join('.')), null);
    assert.equal(seal.open(JSON.stringify(command)), null);
  });
});

import assert from 'node:assert/strict';
import { MAX_NOTIFY_PAYLOAD_BYTES } from '../../server/db/notifications';
import { INLINE_LINES_MAX_BYTES, decodeTrainingEvent, encodeLogsEvent, inlineLines } from '../../server/modules/training/training-events';
import type { LogLine } from '../../server/modules/training/training-runs';

const at = new Date('2026-01-02T03:04:05.678Z');
const lines = (texts: string[], firstSeq = 1): LogLine[] => texts.map((line, index) => ({ seq: firstSeq + index, at, stream: 'stdout', line }));

function decodeLogs(payload: string) {
  const event = decodeTrainingEvent(payload);
  assert.ok(event && event.type === 'logs');
  return event;
}

describe('training log notifications', () => {
  it('carries a small batch inside the payload, and gets it back exactly', () => {
    const batch = lines(['epoch 1 loss 0.5', 'émoji ✓ 😀', ''], 41);
    const event = decodeLogs(encodeLogsEvent('run_1', 'origin-a', batch));
    assert.equal(event.runId, 'run_1');
    assert.equal(event.lastSeq, 43);
    assert.equal(event.origin, 'origin-a');
    assert.deepEqual(inlineLines(event), batch);
  });

  it('sends only the last seq when the lines would pass the budget, counted in bytes, not characters', () => {
    // 2,400 three-byte characters: under the budget in characters, over it in bytes.
    const batch = lines(['✓'.repeat(2400), 'next']);
    const payload = encodeLogsEvent('run_1', 'origin-a', batch);
    const event = decodeLogs(payload);
    assert.equal(event.lastSeq, 2);
    assert.equal(inlineLines(event), null);
    assert.ok(Buffer.byteLength(payload) < 200);
  });

  it('never builds a payload over the budget, which is well under the Postgres limit', () => {
    assert.ok(INLINE_LINES_MAX_BYTES < MAX_NOTIFY_PAYLOAD_BYTES - 500);
    for (let length = 6000; length < 7200; length += 17) {
      const payload = encodeLogsEvent('run_1', 'origin-a', lines(['a"\\'.repeat(length / 3)]));
      assert.ok(Buffer.byteLength(payload) <= INLINE_LINES_MAX_BYTES, `${length}: ${Buffer.byteLength(payload)} bytes`);
    }
  });

  it('refuses carried lines that are malformed or not contiguous, so the listener reads them instead', () => {
    assert.equal(
      inlineLines({
        lines: [
          [1, 0, 'stdout', 'a'],
          [3, 0, 'stdout', 'b'],
        ],
      }),
      null,
    );
    assert.equal(inlineLines({ lines: [[1, 0, 'stdout']] }), null);
    assert.equal(inlineLines({ lines: [['1', 0, 'stdout', 'a']] }), null);
    assert.equal(inlineLines({ lines: 'nope' }), null);
    assert.equal(inlineLines({ lines: [] }), null);
    assert.equal(inlineLines({}), null);
  });
});

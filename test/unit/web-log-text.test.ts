import assert from 'node:assert/strict';
import { safeLogText } from '../../web/log-text';

describe('web console: log lines made safe to show', () => {
  it('drops ANSI colour and cursor sequences', () => {
    assert.equal(safeLogText('\u001b[1;31mred\u001b[0m and \u001b[2Kcleared'), 'red and cleared');
  });

  it('drops what is left of a colour code whose escape character was already removed', () => {
    assert.equal(safeLogText('[31mred alert[0m done'), 'red alert done');
  });

  it('shows other control characters as U+FFFD and keeps tabs', () => {
    assert.equal(safeLogText('bell\u0007\tback\u0008'), 'bell\ufffd\tback\ufffd');
  });

  it('leaves ordinary text, brackets and emoji alone', () => {
    assert.equal(safeLogText('epoch [3/10] loss=0.25 ✓😀'), 'epoch [3/10] loss=0.25 ✓😀');
  });
});

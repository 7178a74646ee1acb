import assert from 'node:assert/strict';
import { MessageType, stringifyMessage } from 'graphql-ws';
import { ALREADY_SENT, isAlreadySent } from '../../server/http/shared-frames';

describe('shared frames: the message graphql-ws sends in place of one already sent', () => {
  it('is recognised as graphql-ws (the installed version) writes it', () => {
    assert.equal(isAlreadySent(stringifyMessage({ id: 'sub-1', type: MessageType.Next, payload: ALREADY_SENT })), true);
    assert.equal(isAlreadySent(JSON.stringify({ payload: ALREADY_SENT, type: 'next', id: 'sub-1' })), true, 'in any key order');
  });

  it('is never confused with a real result, even one whose text carries the marker', () => {
    const line = { seq: 1, line: 'a log line mentioning "__mp_already_sent__": true' };
    assert.equal(isAlreadySent(stringifyMessage({ id: 'sub-1', type: MessageType.Next, payload: { data: { trainingLogs: { lines: [line] } } } })), false);
    assert.equal(isAlreadySent(stringifyMessage({ id: 'sub-1', type: MessageType.Next, payload: { data: null, extensions: { __mp_already_sent__: true } } })), false);
    assert.equal(isAlreadySent(stringifyMessage({ id: 'sub-1', type: MessageType.Complete })), false);
    assert.equal(isAlreadySent('not json "__mp_already_sent__"'), false);
  });
});

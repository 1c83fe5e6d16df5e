import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSseParser, type SseMessage } from '../src/server/sse-parser.js';
import { formatEventMessage, resumeSeq } from '../src/server/sse.js';

function parseAll(chunks: string[]): SseMessage[] {
  const out: SseMessage[] = [];
  const feed = createSseParser((m) => out.push(m));
  for (const chunk of chunks) feed(chunk);
  return out;
}

test('given a stream split at every byte, when parsed, then the messages equal the unsplit parse', () => {
  const text = 'retry: 1000\n: comment\n\nid: 1\ndata: {"a":1}\n\nevent: caught-up\ndata: {"seq":1}\n\nid: 2\ndata: line one\ndata: line two\n\n';
  const whole = parseAll([text]);
  assert.equal(whole, [
    { event: 'message', data: '{"a":1}', id: '1' },
    { event: 'caught-up', data: '{"seq":1}' },
    { event: 'message', data: 'line one\nline two', id: '2' },
  ]);
  assert.equal(parseAll([...text]), whole);
});

test('given CRLF line endings and a field without a space, when parsed, then values are the same as with LF', () => {
  assert.equal(parseAll(['id:7\r\ndata:{"x":2}\r\n\r\n']), [{ event: 'message', data: '{"x":2}', id: '7' }]);
});

test('given a message without data or an unfinished one, when parsed, then nothing is dispatched for it', () => {
  assert.equal(parseAll(['id: 3\n\n', 'id: 4\ndata: half']), []);
});

test('given a ledger event, when formatted and parsed back, then the id is its seq and the data round-trips', () => {
  const event = { seq: 42, id: 'e-42', stream: 'run-1', type: 'EpochEnded', v: 1, at: 1700000000000, data: { run: 'run-1', epoch: 3, metrics: { loss: 0.25 }, big: 10n } };
  const [message] = parseAll([formatEventMessage(event)]);
  assert.is(message.id, '42');
  assert.equal(JSON.parse(message.data), { ...event, data: { ...event.data, big: '10' } });
});

test('given Last-Event-ID and ?from=, when resolving where to start, then Last-Event-ID wins and junk falls back to 1', () => {
  assert.is(resumeSeq('41', '7'), 42);
  assert.is(resumeSeq(undefined, '7'), 7);
  assert.is(resumeSeq('', '7'), 7);
  assert.is(resumeSeq('abc', null), 1);
  assert.is(resumeSeq(undefined, '0'), 1);
  assert.is(resumeSeq(undefined, '-5'), 1);
  assert.is(resumeSeq('0', '9'), 1);
});

test.run();

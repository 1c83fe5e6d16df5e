import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Packr } from 'msgpackr';
import { CkptError } from '../src/errors.js';
import { encodeFrame, FrameDecoder, SUPERVISOR_MESSAGE_TYPES, TRAINER_MESSAGE_TYPES } from '../src/protocol/index.js';
import { Rng } from '../trainers/lib/rng.js';

const packr = new Packr({ useRecords: false });
const frameOf = (body: Uint8Array): Buffer => {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
};
const decoder = () => new FrameDecoder({ accept: TRAINER_MESSAGE_TYPES });
const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    assert.instance(error, CkptError);
    return (error as CkptError).code;
  }
  return 'no error';
};

test('given an epoch_end with float metrics, when encoded and decoded, then every value comes back exactly', () => {
  const message = { type: 'epoch_end', epoch: 3, step: 282, metrics: { loss: 0.22965868560473124, val_acc: 0.918, nan: NaN }, ms: 1377 };
  const [out] = decoder().push(encodeFrame(message));
  assert.is(out.type, 'epoch_end');
  assert.is((out.metrics as Record<string, number>).loss, 0.22965868560473124);
  assert.is((out.metrics as Record<string, number>).val_acc, 0.918);
  assert.ok(Number.isNaN((out.metrics as Record<string, number>).nan));
  assert.is(out.step, 282);
});

test('given a state reply with tensor bytes, when decoded, then the bytes, dtype and shape are preserved', () => {
  const data = new Uint8Array(new Float32Array([1.5, -2.25, 3e-8]).buffer);
  const frame = encodeFrame({ type: 'state', requestId: 'r1', state: { objects: { model: { weights: [{ name: 'k', dtype: 'float32', shape: [3], data }] } }, trainer: { epoch: 1, step: 2 }, history: [] } });
  const [out] = decoder().push(frame);
  const t = (out.state as any).objects.model.weights[0];
  assert.equal([...new Float32Array(new Uint8Array(t.data).buffer)], [1.5, -2.25, new Float32Array([3e-8])[0]]);
  assert.equal(t.shape, [3]);
  assert.is(t.dtype, 'float32');
});

test('given three frames split into 1-byte chunks, when pushed one by one, then the three messages come out in order', () => {
  const bytes = Buffer.concat([1, 2, 3].map((epoch) => encodeFrame({ type: 'epoch_end', epoch, step: epoch * 10, metrics: {}, ms: 0 })));
  const d = decoder();
  const out: number[] = [];
  for (const byte of bytes) for (const m of d.push(Uint8Array.of(byte))) out.push(m.epoch as number);
  assert.equal(out, [1, 2, 3]);
  assert.is(d.pending, 0);
});

test('given a frame cut short, when the stream ends, then the decoder reports the pending bytes and no message', () => {
  const frame = encodeFrame({ type: 'log', level: 'info', message: 'hello there' });
  for (const cut of [1, 3, 4, 10, frame.length - 1]) {
    const d = decoder();
    assert.equal(d.push(frame.subarray(0, cut)), [], `cut at ${cut}`);
    assert.is(d.pending, cut);
  }
});

test('given a length prefix of 4 GiB - 1, when pushed, then PROTOCOL_FRAME_TOO_LARGE is thrown before any body arrives', () => {
  const d = new FrameDecoder({ accept: TRAINER_MESSAGE_TYPES, maxFrameBytes: 1 << 20 });
  assert.is(codeOf(() => d.push(Buffer.from([0xff, 0xff, 0xff, 0xff]))), 'PROTOCOL_FRAME_TOO_LARGE');
  const d2 = new FrameDecoder({ accept: TRAINER_MESSAGE_TYPES, maxFrameBytes: 1 << 20 });
  const head = Buffer.alloc(4);
  head.writeUInt32BE((1 << 20) + 1, 0);
  assert.is(codeOf(() => d2.push(head)), 'PROTOCOL_FRAME_TOO_LARGE');
});

test('given a stray console.log line on stdout, when decoded, then it is rejected as oversize, not buffered forever', () => {
  // "Hi there\n" read as a big-endian length is ~1.2 GB.
  assert.is(codeOf(() => decoder().push(Buffer.from('Hi there, I am a log line\n'))), 'PROTOCOL_FRAME_TOO_LARGE');
});

test('given frames of the wrong shape, when decoded, then each gives PROTOCOL_MALFORMED or PROTOCOL_UNKNOWN_TYPE', () => {
  const cases: Array<[unknown, string]> = [
    [42, 'PROTOCOL_MALFORMED'],
    ['epoch_end', 'PROTOCOL_MALFORMED'],
    [[1, 2, 3], 'PROTOCOL_MALFORMED'],
    [null, 'PROTOCOL_MALFORMED'],
    [{ epoch: 1 }, 'PROTOCOL_MALFORMED'],
    [{ type: 7 }, 'PROTOCOL_MALFORMED'],
    [{ type: 'teleport' }, 'PROTOCOL_UNKNOWN_TYPE'],
    [{ type: 'start', config: {}, seed: 1 }, 'PROTOCOL_UNKNOWN_TYPE'], // a supervisor command is not a trainer message
  ];
  for (const [value, code] of cases) assert.is(codeOf(() => decoder().push(frameOf(packr.pack(value)))), code, JSON.stringify(value));
  assert.is(codeOf(() => decoder().push(frameOf(Uint8Array.of(0xc1)))), 'PROTOCOL_MALFORMED'); // 0xc1 is never valid msgpack
});

test('given the supervisor-side accept list, when a trainer message arrives, then it is an unknown type there', () => {
  const d = new FrameDecoder({ accept: SUPERVISOR_MESSAGE_TYPES });
  assert.is(d.push(encodeFrame({ type: 'save', requestId: 'x' }))[0].requestId, 'x');
  assert.is(codeOf(() => d.push(encodeFrame({ type: 'hello', protocol: 1 }))), 'PROTOCOL_UNKNOWN_TYPE');
});

test('given a bad frame, when decoded on either side, then the message names the side that wrote it', () => {
  const messageOf = (d: FrameDecoder): string => {
    try {
      d.push(Buffer.from('Hi there, I am a log line\n')); // read as a length prefix: far over the limit
    } catch (error) {
      return (error as Error).message;
    }
    return 'no error';
  };
  assert.match(messageOf(decoder()), /^trainer sent .*protocol frames to stdout/);
  assert.match(messageOf(new FrameDecoder({ accept: SUPERVISOR_MESSAGE_TYPES })), /^supervisor sent .*protocol frames to the trainer's stdin/);
});

test('given 300 seeded random byte strings, when fed to a decoder, then it only ever yields maps with an accepted type or throws a PROTOCOL_* CkptError', () => {
  const rng = Rng.fromSeed(20261122);
  const accepted = new Set<string>(TRAINER_MESSAGE_TYPES);
  let errors = 0;
  let messages = 0;
  for (let i = 0; i < 300; i++) {
    const length = 1 + rng.int(64);
    const bytes = Uint8Array.from({ length }, () => rng.int(256));
    // Half of them get a plausible small length prefix, so the msgpack body parser is exercised too.
    const input = i % 2 ? frameOf(bytes) : Buffer.from(bytes);
    try {
      for (const m of decoder().push(input)) {
        assert.ok(accepted.has(m.type));
        messages++;
      }
    } catch (error) {
      assert.instance(error, CkptError);
      assert.match((error as CkptError).code, /^PROTOCOL_(MALFORMED|UNKNOWN_TYPE|FRAME_TOO_LARGE)$/);
      errors++;
    }
  }
  assert.ok(errors > 100, `expected most random inputs to be rejected, got ${errors}`);
  assert.is(messages + errors <= 300, true);
});

test('given a good frame and a bad one in one chunk, when decoded, then the error carries the good message in details.messages', () => {
  const good = encodeFrame({ type: 'epoch_end', epoch: 4, step: 40, metrics: { loss: 0.5 }, ms: 9 });
  const garbage = frameOf(Uint8Array.of(0x93, 0x01, 0x02, 0x03)); // a msgpack array, not a map
  let caught: CkptError | undefined;
  try {
    decoder().push(Buffer.concat([good, garbage, good]));
  } catch (error) {
    caught = error as CkptError;
  }
  assert.is(caught?.code, 'PROTOCOL_MALFORMED');
  const before = caught!.details.messages as Array<Record<string, unknown>>;
  assert.is(before.length, 1);
  assert.is(before[0].epoch, 4);
});

test.run();

// The SDK's capture buffers (src/sdk/capture-buffers.ts): a buffer comes back for another capture only once the
// state it was taken for is no longer live, never while another live state holds it, only if the pool made it,
// and never twice.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CheckpointState } from '../src/checkpoint.js';
import { CaptureBuffers } from '../src/sdk/capture-buffers.js';

const stateOf = (...data: Uint8Array[]): CheckpointState => ({
  objects: { model: { weights: data.map((d, i) => ({ name: `w${i}`, dtype: 'float32' as const, shape: [d.byteLength / 4], data: d })) } },
  trainer: { epoch: 1, step: 1 },
  history: [],
});

test('given a captured state, when a sweep finds it live, then its buffer is not handed out again; once dead, it is', () => {
  const pool = new CaptureBuffers();
  const a = pool.take(16);
  const state = stateOf(a);
  pool.track(state);
  pool.sweep(() => true);
  const b = pool.take(16);
  assert.is.not(b.buffer, a.buffer, 'a live state keeps its buffer');
  pool.sweep(() => false);
  assert.is(pool.take(16).buffer, a.buffer, 'a dead state\'s buffer is reused');
  assert.is.not(pool.take(16).buffer, a.buffer, 'and handed out once');
});

test('given a buffer two states hold, when only one of them is dead, then it is not reused', () => {
  const pool = new CaptureBuffers();
  const shared = pool.take(8);
  const dead = stateOf(shared);
  const live = stateOf(shared);
  pool.track(dead);
  pool.track(live);
  pool.sweep((s) => s === live);
  assert.is.not(pool.take(8).buffer, shared.buffer);
  pool.sweep(() => false);
  assert.is(pool.take(8).buffer, shared.buffer);
});

test('given a state whose tensors the trainer allocated itself or views of a pool buffer, when it is dead, then none of those is reused', () => {
  const pool = new CaptureBuffers();
  const own = new Uint8Array(32);
  const whole = pool.take(32);
  const state = stateOf(own, whole.subarray(0, 16));
  pool.track(state);
  pool.sweep(() => false);
  const next = pool.take(32);
  assert.is.not(next.buffer, own.buffer);
  assert.is.not(next.buffer, whole.buffer, 'a view of part of a pool buffer does not free it');
  assert.is(next.byteLength, 32);
});

test('given buffers of another size, when a capture asks for a size, then only that size is reused', () => {
  const pool = new CaptureBuffers();
  const small = pool.take(4);
  pool.track(stateOf(small));
  pool.sweep(() => false);
  assert.is(pool.take(8).byteLength, 8);
  assert.is(pool.take(4).buffer, small.buffer);
});

test.run();

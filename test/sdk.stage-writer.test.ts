// The SDK's stage writer (src/sdk/stage-writer.ts, its worker in stage-worker-source.ts) writes every staged file
// byte for byte at its exact length, with direct I/O where the file system takes it (bypassing the page cache:
// `fincore` finds none of the file's pages cached) and buffered where it does not (ramfs), from plain and shared
// buffers, at any offset and any length around the 4 KiB blocks and the 8 MiB bounce buffer.
import { execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CheckpointState, StagedTensor, WireState } from '../src/checkpoint.js';
import { StageWriter } from '../src/sdk/stage-writer.js';
import { takesDirectIo } from './fixtures/direct-io.js';

const MiB = 2 ** 20;
/** Lengths around a block, the bounce buffer and several bounce buffers; 0 and 1 too. */
const LENGTHS = [0, 1, 511, 4096, 4097, 8 * MiB, 8 * MiB + 3, 20 * MiB + 1];

/** A state of one tensor per length: plain buffers, shared ones, and one tensor at an odd offset of a shared buffer. */
function stateOf(): CheckpointState {
  const weights = LENGTHS.map((length, i) => {
    const buffer = i % 2 ? new SharedArrayBuffer(length + 13) : new ArrayBuffer(length + 13);
    const data = new Uint8Array(buffer, i === LENGTHS.length - 1 ? 13 : 0, length);
    randomFillSync(data);
    return { name: `w${i}`, dtype: 'uint8' as const, shape: [length], data };
  });
  return { objects: { model: { weights } }, trainer: { epoch: 1, step: 1 }, history: [] };
}

/** Stage `state` into `dir` and answer with the reply and a copy of every tensor's bytes taken before it was lent. */
async function stage(writer: StageWriter, state: CheckpointState): Promise<{ reply: WireState; expected: Buffer[] }> {
  const expected = state.objects.model.weights.map((t) => Buffer.from(t.data));
  const reply = await new Promise<WireState>((resolve, reject) => void writer.submit(state, resolve, reject));
  return { reply, expected };
}

function checkFiles(dir: string, reply: WireState, expected: Buffer[]): void {
  const staged = reply.objects.model.weights as StagedTensor[];
  assert.is(staged.length, expected.length);
  staged.forEach((t, i) => {
    assert.is(t.bytes, LENGTHS[i]);
    const bytes = readFileSync(join(dir, t.file));
    assert.is(bytes.byteLength, LENGTHS[i], `${t.file}: length`);
    assert.ok(bytes.equals(expected[i]), `${t.file}: bytes`);
  });
}

test('given a directory on a disk file system, when a state is staged, then its files are exact and written with direct I/O where the kernel takes it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-stage-writer-'));
  const writer = new StageWriter(dir, 2);
  try {
    const state = stateOf();
    const { reply, expected } = await stage(writer, state);
    const direct = takesDirectIo(dir);
    if (direct) {
      // fincore: resident page-cache bytes per file; none for a file written around the page cache (asked before
      // anything reads it).
      const big = (reply.objects.model.weights as StagedTensor[]).at(-1)!;
      const resident = execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', join(dir, big.file)], { encoding: 'utf8' }).trim();
      assert.is(Number(resident), 0, 'no page of a direct-written file is cached');
    }
    checkFiles(dir, reply, expected);
    // The tensors came back from the worker whole (transferred buffers are returned and viewed again).
    state.objects.model.weights.forEach((t, i) => assert.ok(Buffer.from(t.data).equals(expected[i]), `tensor ${i} back`));
    assert.is(writer.written.files, LENGTHS.length);
    assert.is(writer.written.direct, direct ? LENGTHS.length : 0, `direct I/O ${direct ? 'taken' : 'refused'} here`);
    assert.equal(readdirSync(dir).sort(), (reply.objects.model.weights as StagedTensor[]).map((t) => t.file).sort(), 'nothing but the staged files (no probe left)');
  } finally {
    await writer.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('given a directory on ramfs (which refuses O_DIRECT), when a state is staged, then its files are exact and written buffered', async () => {
  const mount = mkdtempSync(join(tmpdir(), 'ckpt-stage-ramfs-'));
  execFileSync('mount', ['-t', 'ramfs', 'ramfs', mount]);
  const writer = new StageWriter(mount, 2);
  try {
    assert.not.ok(takesDirectIo(mount), 'ramfs refuses O_DIRECT');
    const { reply, expected } = await stage(writer, stateOf());
    checkFiles(mount, reply, expected);
    assert.is(writer.written.direct, 0);
    assert.equal(readdirSync(mount).length, LENGTHS.length, 'nothing but the staged files (no probe left)');
  } finally {
    await writer.close();
    execFileSync('umount', [mount]);
    rmSync(mount, { recursive: true, force: true });
  }
});

test.run();

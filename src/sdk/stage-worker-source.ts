/**
 * The source of the stage writer's worker thread (run with `eval`, so the SDK needs no separate worker file in its
 * build). For each job it writes every piece to its file (exclusive create) and answers with the lent buffers; on
 * failure it deletes the files it wrote for that job.
 *
 * Direct I/O: where the staging directory's file system takes O_DIRECT, each file is written through a 8 MiB
 * bounce buffer aligned for it (found once per directory by probing: an O_DIRECT write from an address the device
 * cannot take fails with EINVAL), bypassing the page cache; the last block is zero-padded and the file truncated to
 * its length. A checkpoint is written once and read back once by the store, so caching its pages buys nothing,
 * and creating them is what costs: on the VM ckpt's benchmarks run on, writing 1 GiB into new page-cache pages took
 * 5.5-10 s, the same bytes with O_DIRECT about 1 s (and 0.5 s overwriting pages already cached). Where O_DIRECT is
 * refused (tmpfs, some network file systems), or a write of it fails with EINVAL, the file is written buffered.
 * Durability is not the writer's: the store fsyncs every staged file it adopts, as before.
 */
export const STAGE_WORKER_SOURCE = `
const { parentPort, threadId } = require('node:worker_threads');
const { openSync, writeSync, closeSync, unlinkSync, ftruncateSync, constants } = require('node:fs');
const { dirname } = require('node:path');

const BOUNCE = 8 * 1024 * 1024;
const ALIGN = 4096;
/** Per directory: an aligned bounce buffer for O_DIRECT writes, or null when they are not possible there. */
const bounces = new Map();

function bounceFor(dir) {
  if (bounces.has(dir)) return bounces.get(dir);
  let view = null;
  if (constants.O_DIRECT) {
    const raw = new Uint8Array(new ArrayBuffer(BOUNCE + ALIGN));
    const probe = dir + '/direct-probe-' + process.pid + '-' + threadId;
    let fd = -1;
    try {
      fd = openSync(probe, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_DIRECT);
      for (let k = 0; k < ALIGN && view === null; k += 16) {
        try {
          writeSync(fd, raw, k, ALIGN, 0);
          view = raw.subarray(k, k + BOUNCE);
        } catch (e) {
          if (e.code !== 'EINVAL') throw e;
        }
      }
    } catch {
      view = null;
    } finally {
      if (fd >= 0) closeSync(fd);
      try { unlinkSync(probe); } catch {}
    }
  }
  bounces.set(dir, view);
  return view;
}

/** Closes fd and deletes the file it was created as (a write into it failed), then rethrows. */
function discard(fd, path, error) {
  try { closeSync(fd); } catch {}
  try { unlinkSync(path); } catch {}
  throw error;
}

function writeBuffered(path, bytes) {
  const fd = openSync(path, 'wx');
  try {
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
  } catch (e) {
    discard(fd, path, e);
  }
  closeSync(fd);
}

/** Writes bytes with O_DIRECT through the bounce buffer; false (nothing left behind) when the kernel refuses it. */
function writeDirect(path, bytes, bounce) {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DIRECT);
  try {
    for (let at = 0; at < bytes.length; at += BOUNCE) {
      const n = Math.min(BOUNCE, bytes.length - at);
      bounce.set(bytes.subarray(at, at + n));
      const padded = Math.ceil(n / ALIGN) * ALIGN;
      bounce.fill(0, n, padded);
      let done = 0;
      while (done < padded) done += writeSync(fd, bounce, done, padded - done, at + done);
    }
    if (bytes.length % ALIGN !== 0) ftruncateSync(fd, bytes.length);
  } catch (e) {
    try {
      discard(fd, path, e);
    } catch {}
    if (e.code !== 'EINVAL') throw e;
    bounces.set(dirname(path), null);
    return false;
  }
  closeSync(fd);
  return true;
}

parentPort.on('message', ({ id, pieces, buffers }) => {
  const written = [];
  let error = null;
  let direct = 0;
  try {
    for (const p of pieces) {
      const bytes = new Uint8Array(buffers[p.buffer], p.offset, p.length);
      const bounce = bounceFor(dirname(p.path));
      if (bounce && writeDirect(p.path, bytes, bounce)) direct++;
      else writeBuffered(p.path, bytes);
      written.push(p.path);
    }
  } catch (e) {
    for (const path of written) { try { unlinkSync(path); } catch {} }
    error = { code: e.code, message: e.message };
  }
  parentPort.postMessage({ id, error, buffers, direct }, buffers.filter((b) => b instanceof ArrayBuffer));
});
`;

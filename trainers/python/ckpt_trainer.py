"""ckpt trainer SDK for Python: speak protocol v1 (docs/protocol.md) with the standard library and msgpack.

A trainer subclasses Trainer and implements setup / train / capture / restore (and optionally evaluate);
run_trainer() serves the protocol on stdin/stdout until `exit` or stdin closes. Commands that arrive while
training are carried out between batches, when the loop calls ctx.checkpoint(). stdout carries frames only:
print() and anything else written to sys.stdout goes to stderr.

Hold ('hold' capability, on by default): ctx.epoch_end and ctx.batch_end capture the state of the position they
report and keep it until the supervisor saves or releases it; while `config.maxHeld` (default 2) states are
unreleased they wait for the supervisor before returning. So `save {epoch, step}` always gets exactly that
position's state. A trainer that sets `capabilities` without 'hold' keeps the last `keepEpochStates` epoch ends.

Stage ('stage' capability, on by default; docs/protocol.md, "Staged tensors"): when `start` carries
`staging: {dir}`, a save of at least `config.stageMinBytes` tensor bytes (default 4 MiB; smaller states travel in
the frame) writes each tensor's bytes to a file in that directory on I/O threads (with O_DIRECT where the file
system takes it) while training goes on, and the `state` reply names the files; staged tensors the supervisor
sends (in start, restore and eval states) are read from their files before setup / restore / evaluate see them.
Trainer code never sees the staged form.

Example:
    class MyTrainer(Trainer):
        name, version, backend = 'my-trainer', '1.0.0', 'python'
        def setup(self, config, seed, state): ...
        def train(self, ctx):
            for epoch in ...:
                for batch in ...:
                    ...
                    if ctx.checkpoint(): return epoch_done, step   # stop requested
                ctx.epoch_end(epoch, step, {'loss': ..., 'val_loss': ...}, ms)
            return epochs, step
        def capture(self): return {'objects': {...}, 'trainer': {...}, 'history': [...]}
        def restore(self, state): ...
    run_trainer(MyTrainer())
"""
import collections
import concurrent.futures
import errno
import hashlib
import mmap
import os
import queue
import re
import struct
import sys
import threading
import traceback
from array import array

import msgpack

PROTOCOL_VERSION = 1
SUPERVISOR_TYPES = ('start', 'save', 'release', 'stop', 'restore', 'eval', 'exit')
MAX_FRAME_BYTES = 1 << 30
DEFAULT_MAX_HELD = 2  # unreleased states a 'hold' trainer keeps before it waits; config maxHeld overrides
DEFAULT_KEEP_EPOCH_STATES = 4  # without 'hold': epoch-boundary states kept for `save {epoch}`; config keepEpochStates overrides
DEFAULT_STAGE_MIN_BYTES = 4 * 1024 * 1024  # a smaller state is answered in the frame even when staging was offered
STAGE_IO_THREADS = 4  # threads that read and write staged tensor files (file I/O releases the GIL)

_frames_out = sys.stdout.buffer
sys.stdout = sys.stderr  # stdout is for frames only
_write_lock = threading.Lock()


class ProtocolError(Exception):
    """A malformed frame or message; `code` is a stable PROTOCOL_* code."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def _exit(code):
    # os._exit, not sys.exit: the stdin reader thread is blocked in read(), and interpreter shutdown would
    # abort on its buffer lock.
    try:
        with _write_lock:
            _frames_out.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def encode_frame(message):
    """One frame: 4-byte big-endian length, then the msgpack map. encode_frame({'type': 'log', ...}) -> bytes"""
    body = msgpack.packb(message, use_bin_type=True)
    return struct.pack('>I', len(body)) + body


def send(message):
    """Write one frame to the real stdout and flush. send({'type': 'log', 'level': 'info', 'message': 'hi'})"""
    frame = encode_frame(message)
    with _write_lock:
        _frames_out.write(frame)
        _frames_out.flush()


def read_frame(stream):
    """Read one message from a binary stream; None at a clean end of input. Raises ProtocolError."""
    head = stream.read(4)
    if not head:
        return None
    if len(head) < 4:
        raise ProtocolError('PROTOCOL_TRUNCATED', 'input ended inside a frame header')
    (length,) = struct.unpack('>I', head)
    if length > MAX_FRAME_BYTES:
        raise ProtocolError('PROTOCOL_FRAME_TOO_LARGE', 'frame of %d bytes exceeds the limit %d' % (length, MAX_FRAME_BYTES))
    body = stream.read(length)
    if len(body) < length:
        raise ProtocolError('PROTOCOL_TRUNCATED', 'input ended inside a frame (%d of %d bytes)' % (len(body), length))
    try:
        message = msgpack.unpackb(body, raw=False)
    except Exception as error:  # msgpack raises several types
        raise ProtocolError('PROTOCOL_MALFORMED', 'frame is not valid msgpack: %s' % error)
    if not isinstance(message, dict) or not isinstance(message.get('type'), str):
        raise ProtocolError('PROTOCOL_MALFORMED', 'frame is not a map with a string `type`')
    if message['type'] not in SUPERVISOR_TYPES:
        raise ProtocolError('PROTOCOL_UNKNOWN_TYPE', 'unknown message type %r' % message['type'][:40])
    return message


# ── tensors: raw little-endian bytes with dtype and shape ───────────────────────────────────────────
_TYPECODES = {'float64': 'd', 'float32': 'f', 'int32': 'i'}


def tensor(name, values, shape, dtype='float64'):
    """A TensorData dict. tensor('w', [0.5, -1.0], [2]) -> {'name': 'w', 'dtype': 'float64', 'shape': [2], 'data': b'...'}"""
    data = array(_TYPECODES[dtype], values)
    if sys.byteorder != 'little':
        data.byteswap()
    return {'name': name, 'dtype': dtype, 'shape': list(shape), 'data': data.tobytes()}


def tensor_values(td):
    """The values of a TensorData dict as a list. tensor_values(tensor('w', [1.5], [1])) -> [1.5]"""
    code = _TYPECODES.get(td['dtype'])
    if code is None:
        raise ProtocolError('PROTOCOL_BAD_STATE', 'tensor %s has dtype %s; expected one of %s' % (td['name'], td['dtype'], ', '.join(_TYPECODES)))
    data = array(code)
    data.frombytes(bytes(td['data']))
    if sys.byteorder != 'little':
        data.byteswap()
    return data.tolist()


def weights_digest(state):
    """ckpt's weightsDigest: sha256 over the 32-byte sha256 of each weight tensor's raw bytes, objects in name
    order, tensors in order (docs/format.md)."""
    digest = hashlib.sha256()
    for name in sorted(state['objects']):
        for td in state['objects'][name]['weights']:
            digest.update(hashlib.sha256(td['data']).digest())
    return digest.hexdigest()


def state_position_matches(state_pos, reported):
    """Whether a state at state_pos ({epoch, step}) is the state of the reported position: the same step, and the
    same epoch or (batch_end reports the epoch in progress) the one before. Same rule as src/protocol/position.ts."""
    return state_pos.get('step') == reported['step'] and state_pos.get('epoch') in (reported['epoch'], reported['epoch'] - 1)


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# ── staged tensors: tensor bytes in files of the store's file system (capability 'stage') ─────────────────
class _IOThreads:
    """A few daemon threads that read and write staged files. Not a ThreadPoolExecutor: that refuses work once the
    interpreter starts shutting down, and a ckpt_torch script keeps serving saves after its main thread ended."""

    def __init__(self, count):
        self.jobs = queue.SimpleQueue()
        for i in range(count):
            threading.Thread(target=self._work, name='ckpt-io-%d' % i, daemon=True).start()

    def submit(self, fn, *args):
        future = concurrent.futures.Future()
        self.jobs.put((future, fn, args))
        return future

    def _work(self):
        while True:
            future, fn, args = self.jobs.get()
            try:
                future.set_result(fn(*args))
            except BaseException as error:
                future.set_exception(error)


_io_threads = None
_io_lock = threading.Lock()


def _io():
    """The I/O threads for staged files, started on first use."""
    global _io_threads
    with _io_lock:
        if _io_threads is None:
            _io_threads = _IOThreads(STAGE_IO_THREADS)
        return _io_threads


def _tensor_lists(state):
    """Every list of tensors in a state: each object's weights and optimizer slots."""
    objects = state.get('objects') if isinstance(state, dict) else None
    for obj in (objects.values() if isinstance(objects, dict) else ()):
        if isinstance(obj, dict) and isinstance(obj.get('weights'), list):
            yield obj['weights']
        optimizer = obj.get('optimizer') if isinstance(obj, dict) else None
        if isinstance(optimizer, dict) and isinstance(optimizer.get('slots'), list):
            yield optimizer['slots']


def begin_unstage(state):
    """Start reading every staged tensor ({name, dtype, shape, file, bytes}) of an incoming state on the I/O
    threads; each read turns its tensor into an ordinary one with `data`. Returns the reads for finish_unstage."""
    staged = [td for tensors in _tensor_lists(state) for td in tensors if isinstance(td, dict) and 'file' in td and 'data' not in td]
    return [_io().submit(_read_staged, td) for td in staged]


def finish_unstage(reads):
    """Wait for every read begun by begin_unstage; raise the first failure (a ProtocolError, STAGE_FAILED)."""
    concurrent.futures.wait(reads)
    for read in reads:
        read.result()


def _read_staged(td):
    name, path, size = td.get('name'), td.get('file'), td.get('bytes')
    if not isinstance(path, str) or not os.path.isabs(path) or not _is_count(size):
        raise ProtocolError('STAGE_FAILED', 'staged tensor %s needs an absolute `file` and its length `bytes`' % name)
    try:
        with open(path, 'rb', buffering=0) as f:
            data = f.readall()
    except OSError as error:
        raise ProtocolError('STAGE_FAILED', 'cannot read staged tensor %s from %s: %s' % (name, path, error.strerror or error))
    if len(data) != size:
        raise ProtocolError('STAGE_FAILED', 'staged tensor %s: %s holds %d bytes, not the %d announced' % (name, path, len(data), size))
    for key in ('file', 'bytes', 'sha256'):
        td.pop(key, None)
    td['data'] = data


# Direct I/O for staged files (docs/protocol.md, "Staged tensors"; the TypeScript SDK's stage-worker-source.ts does
# the same): a checkpoint is read back once by the store, so creating page-cache pages for it only costs. Each I/O
# thread copies through its own page-aligned bounce buffer (an anonymous mmap), the last block zero-padded and the
# file truncated to its length. A directory whose file system refuses O_DIRECT (EINVAL) is written buffered.
_DIRECT_CHUNK = 8 * 1024 * 1024
_DIRECT_ALIGN = 4096
_direct_dirs = {}  # directory -> False once O_DIRECT was refused there
_thread_local = threading.local()


def _bounce():
    """This thread's page-aligned bounce buffer for O_DIRECT writes."""
    buffer = getattr(_thread_local, 'bounce', None)
    if buffer is None:
        buffer = _thread_local.bounce = memoryview(mmap.mmap(-1, _DIRECT_CHUNK))
    return buffer


def _write_direct(path, data):
    """Create `path` holding `data` with O_DIRECT; False (nothing left behind, and the directory marked) when the
    kernel refuses O_DIRECT there (EINVAL, at the open or at a write)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_DIRECT, 0o666)
    except OSError as error:
        if error.errno != errno.EINVAL:
            raise
        _unlink(path)  # a refused O_DIRECT open may still have created the file (EEXIST would have come first)
        _direct_dirs[os.path.dirname(path)] = False
        return False
    try:
        src = memoryview(data).cast('B')
        bounce = _bounce()
        at = 0
        while at < len(src):
            n = min(_DIRECT_CHUNK, len(src) - at)
            bounce[:n] = src[at:at + n]
            padded = -(-n // _DIRECT_ALIGN) * _DIRECT_ALIGN
            bounce[n:padded] = bytes(padded - n)
            done = 0
            while done < padded:
                done += os.pwrite(fd, bounce[done:padded], at + done)
            at += n
        if len(src) % _DIRECT_ALIGN:
            os.ftruncate(fd, len(src))
    except BaseException as error:
        os.close(fd)
        _unlink(path)
        if isinstance(error, OSError) and error.errno == errno.EINVAL:
            _direct_dirs[os.path.dirname(path)] = False
            return False
        raise
    os.close(fd)
    return True


def _write_file(path, data):
    """Create `path` (never an existing file) holding `data`, with O_DIRECT where the file system takes it; on
    failure remove what was written and raise."""
    if getattr(os, 'O_DIRECT', 0) and _direct_dirs.get(os.path.dirname(path), True) and _write_direct(path, data):
        return
    f = open(path, 'xb')
    try:
        with f:
            f.write(data)
    except BaseException:
        _unlink(path)
        raise


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass


class Stager:
    """Saves after `start.staging`: each tensor's raw bytes (weights and optimizer slots of every object) go to a
    new file `<requestId>-<n>` in the staging directory, written on the I/O threads while training goes on; the
    `state` reply names the files once every one is closed (no fsync: the store does it). At most `max_in_flight`
    saves are in flight: a further save waits for the oldest. A failed write removes that save's files and replies
    `error` STORE_NO_SPACE (ENOSPC) or STAGE_FAILED."""

    def __init__(self, directory, max_in_flight):
        self.dir, self.max_in_flight = directory, max_in_flight
        self.in_flight = collections.deque()  # one thread per save: waits for its writes, then replies
        self.files = 0

    def save(self, request_id, state):
        while len(self.in_flight) >= self.max_in_flight:
            self.in_flight.popleft().join()
        prefix = re.sub(r'[^A-Za-z0-9._-]', '_', request_id)
        writes = []

        def stage(td):
            if 'data' not in td:
                return td
            self.files += 1
            name = '%s-%d' % (prefix, self.files)
            path = os.path.join(self.dir, name)
            writes.append((path, _io().submit(_write_file, path, td['data'])))
            return {'name': td['name'], 'dtype': td['dtype'], 'shape': list(td['shape']), 'file': name, 'bytes': memoryview(td['data']).nbytes}

        staged = _map_tensors(state, stage)
        replier = threading.Thread(target=self._reply, args=(request_id, staged, writes), name='ckpt-stage-reply', daemon=True)
        replier.start()
        self.in_flight.append(replier)

    def _reply(self, request_id, staged, writes):
        concurrent.futures.wait([w for _, w in writes])
        failures = [w.exception() for _, w in writes if w.exception() is not None]
        if not failures:
            _send_quietly({'type': 'state', 'requestId': request_id, 'state': staged})
            return
        for path, write in writes:
            if write.exception() is None:  # a failed write removed its own file
                _unlink(path)
        error = failures[0]
        code = 'STORE_NO_SPACE' if getattr(error, 'errno', None) == errno.ENOSPC else 'STAGE_FAILED'
        _send_quietly({'type': 'error', 'requestId': request_id, 'code': code,
                       'message': 'save failed: writing a staged tensor to %s failed: %s' % (self.dir, getattr(error, 'strerror', None) or error)})

    def finish(self):
        """Wait until every save in flight has replied."""
        while self.in_flight:
            self.in_flight.popleft().join()


def _map_tensors(state, fn):
    """A copy of `state` whose weights and optimizer slots are fn(tensor); the rest is shared."""
    objects = {}
    for name, obj in state['objects'].items():
        obj = dict(obj, weights=[fn(td) for td in obj['weights']])
        if obj.get('optimizer'):
            obj['optimizer'] = dict(obj['optimizer'], slots=[fn(td) for td in obj['optimizer'].get('slots', [])])
        objects[name] = obj
    return dict(state, objects=objects)


def _send_quietly(message):
    """send() from a background thread: a supervisor that is gone is nobody to tell."""
    try:
        send(message)
    except (OSError, ValueError):
        pass


class HeldStates:
    """States kept for `save`. With hold: every reported position until released (cumulative, by epoch then
    step). Without: the latest `keep` epoch ends."""

    def __init__(self, hold, max_held, keep):
        self.hold, self.max_held, self.keep = hold, max_held, keep
        self._held = {}  # (epoch, step) -> (kind, state), in report order

    def __len__(self):
        return len(self._held)

    @property
    def full(self):
        return self.hold and len(self._held) >= self.max_held

    def add(self, epoch, step, kind, state):
        if not self.hold and kind == 'batch':
            return
        self._held.pop((epoch, step), None)
        self._held[(epoch, step)] = (kind, state)
        while not self.hold and len(self._held) > self.keep:
            del self._held[next(iter(self._held))]

    def get(self, epoch, step):
        held = self._held.get((epoch, step))
        return held[1] if held else None

    def of_epoch(self, epoch):
        found = None
        for (e, _), (kind, state) in self._held.items():
            if kind == 'epoch' and e == epoch:
                found = state
        return found

    def release(self, epoch, step):
        for key in [k for k in self._held if k <= (epoch, step)]:
            del self._held[key]

    def why_gone(self):
        """What is held and what to do, for PROTOCOL_STATE_GONE."""
        held = ', '.join('%d/%d' % k for k in self._held) or 'none'
        if self.hold:
            return 'held: %s; the supervisor released it, or it was never reported' % held
        return "held: %s; without 'hold' this trainer keeps only its last %d epoch ends: announce 'hold' or raise config.keepEpochStates" % (held, self.keep)


class Trainer:
    """Subclass and implement the methods below; see the module docstring."""
    name = 'python-trainer'
    version = '0.0.0'
    backend = 'python'
    capabilities = None  # default: save, save-now, restore, stop, batch_end, hold, stage (+ eval when evaluate is set)
    batches_per_epoch = None  # optional: sent in hello for the progress bar

    def setup(self, config, seed, state):
        raise NotImplementedError

    def train(self, ctx):
        raise NotImplementedError

    def capture(self):
        raise NotImplementedError

    def restore(self, state):
        raise NotImplementedError

    evaluate = None  # optional: evaluate(self, state, split) -> metrics dict


class Context:
    """What the training loop sees: progress reports and the between-batches checkpoint."""

    def __init__(self, session, config, seed):
        self._session = session
        self.config = config
        self.seed = seed

    def epoch_end(self, epoch, step, metrics, ms):
        """Snapshot the state (what a later `save` returns), send epoch_end, and wait while maxHeld states are unreleased."""
        session = self._session
        state = session.trainer.capture()
        session.latest = state
        session.held.add(epoch, step, 'epoch', state)
        send({'type': 'epoch_end', 'epoch': epoch, 'step': step, 'metrics': dict(metrics), 'ms': ms})
        session.wait_for_room()

    def batch_end(self, epoch, batch, step, metrics):
        """Report progress inside epoch `epoch` (the one in progress); with hold, its state is kept like an epoch end's."""
        session = self._session
        if session.held.hold:
            session.held.add(epoch, step, 'batch', session.trainer.capture())
        send({'type': 'batch_end', 'epoch': epoch, 'batch': batch, 'step': step, 'metrics': dict(metrics)})
        session.wait_for_room()

    def log(self, level, message):
        send({'type': 'log', 'level': level, 'message': message})

    def checkpoint(self):
        """Carry out queued commands; True when `stop` was received."""
        self._session.drain(block=False)
        return self._session.stop_requested


class _Session:
    def __init__(self, trainer):
        self.trainer = trainer
        self.inbox = queue.Queue()
        self.phase = 'idle'
        self.stop_requested = False
        caps = trainer.capabilities
        if caps is None:
            caps = ['save', 'save-now', 'restore', 'stop', 'batch_end', 'hold', 'stage'] + (['eval'] if trainer.evaluate else [])
        self.capabilities = list(caps)
        self.held = HeldStates('hold' in self.capabilities, DEFAULT_MAX_HELD, DEFAULT_KEEP_EPOCH_STATES)
        self.latest = None  # the latest epoch-boundary state (the start state before the first epoch end)
        self.stager = None  # a Stager once start carried `staging` (and hello listed 'stage')
        self.stage_min_bytes = DEFAULT_STAGE_MIN_BYTES  # config stageMinBytes overrides

    def wait_for_room(self):
        """Backpressure: while maxHeld states are unreleased, carry out supervisor commands instead of training on."""
        while self.held.full and not self.stop_requested:
            self.execute(self.inbox.get(block=True))

    def state_at(self, epoch, step):
        """Exactly the state of a reported position: held, or the current one if training has not moved since."""
        state = self.held.get(epoch, step)
        if state is not None:
            return state
        reported = {'epoch': epoch, 'step': step}
        if self.latest is not None and state_position_matches(self.latest['trainer'], reported):
            return self.latest
        now = self.trainer.capture()
        return now if state_position_matches(now['trainer'], reported) else None

    def read_loop(self):
        stdin = sys.stdin.buffer
        try:
            while True:
                message = read_frame(stdin)
                if message is None:
                    break
                if message['type'] == 'stop':
                    self.stop_requested = True
                if message['type'] in ('start', 'restore', 'eval'):
                    message['_reads'] = begin_unstage(message.get('state'))  # read staged files while training goes on
                self.inbox.put(message)
        except ProtocolError as error:
            self.inbox.put({'type': '_fault', 'code': error.code, 'message': str(error)})
            return
        self.inbox.put({'type': '_eof'})

    def serve(self):
        hello = {'type': 'hello', 'protocol': PROTOCOL_VERSION, 'trainer': self.trainer.name,
                 'version': self.trainer.version, 'backend': self.trainer.backend, 'capabilities': self.capabilities}
        if self.trainer.batches_per_epoch:
            hello['batchesPerEpoch'] = int(self.trainer.batches_per_epoch)
        send(hello)
        threading.Thread(target=self.read_loop, daemon=True).start()
        while True:
            self.drain(block=True)

    def drain(self, block):
        while True:
            try:
                message = self.inbox.get(block=block)
            except queue.Empty:
                return
            self.execute(message)
            if block:
                return

    def execute(self, m):
        kind = m['type']
        try:
            if kind == '_eof' or kind == 'exit':
                self.finish_saves()
                _exit(0)
            if kind == '_fault':
                send({'type': 'error', 'code': m['code'], 'message': m['message']})
                _exit(2)
            if kind == 'start':
                self.start(m)
            elif kind == 'stop':
                if self.phase == 'idle':
                    self.phase = 'finished'
                    send({'type': 'done', 'epoch': 0, 'step': 0, 'reason': 'stopped'})
            elif kind == 'save':
                self.save(m)
            elif kind == 'release':
                if not _is_count(m.get('epoch')) or not _is_count(m.get('step')):
                    raise ProtocolError('PROTOCOL_BAD_MESSAGE', 'release.epoch and release.step must be non-negative integers')
                self.held.release(m['epoch'], m['step'])
            elif kind == 'restore':
                if self.phase in ('idle', 'setup'):
                    raise ProtocolError('PROTOCOL_NOT_STARTED', 'restore before start; pass the state in start instead')
                self.trainer.restore(_unstaged(m))
            elif kind == 'eval':
                if not self.trainer.evaluate:
                    raise ProtocolError('PROTOCOL_UNSUPPORTED', 'this trainer cannot evaluate')
                metrics = self.trainer.evaluate(_unstaged(m), m.get('split', 'test'))
                send({'type': 'eval_result', 'requestId': m['requestId'], 'metrics': metrics})
        except Exception as error:  # report the command's failure, keep serving
            code = getattr(error, 'code', None) or ('PROTOCOL_BAD_MESSAGE' if isinstance(error, (KeyError, TypeError)) else 'TRAINER_COMMAND_FAILED')
            reply = {'type': 'error', 'code': code, 'message': '%s failed: %s' % (kind, error)}
            if isinstance(m.get('requestId'), str):
                reply['requestId'] = m['requestId']
            send(reply)

    def save(self, m):
        if not isinstance(m.get('requestId'), str):
            raise ProtocolError('PROTOCOL_BAD_MESSAGE', 'save.requestId must be a string')
        if self.latest is None or self.phase in ('idle', 'setup'):
            raise ProtocolError('PROTOCOL_NOT_STARTED', 'no state yet: send start first')
        epoch, step = m.get('epoch'), m.get('step')
        for name, value in (('epoch', epoch), ('step', step)):
            if value is not None and not _is_count(value):
                raise ProtocolError('PROTOCOL_BAD_MESSAGE', 'save.%s must be a non-negative integer' % name)
        if m.get('at') == 'now':
            state = self.trainer.capture()
        elif epoch is not None and step is not None:
            state = self.state_at(epoch, step)
        elif epoch is not None:
            state = self.held.of_epoch(epoch)
            if state is None and self.latest['trainer'].get('epoch') == epoch:
                state = self.latest
        else:
            state = self.latest
        if state is None:
            at = 'epoch %s, step %s' % (epoch, step) if step is not None else 'epoch %s' % epoch
            raise ProtocolError('PROTOCOL_STATE_GONE', 'the state of %s is no longer held (%s)' % (at, self.held.why_gone()))
        if self.stager and _state_bytes(state) >= self.stage_min_bytes:
            self.stager.save(m['requestId'], state)  # replies once its files are written
        else:  # no staging, or a small state: a thread and a file per tensor would cost more than the frame
            send({'type': 'state', 'requestId': m['requestId'], 'state': state})

    def finish_saves(self):
        """Let every staged save in flight reply (the supervisor was promised them) before the process ends."""
        if self.stager:
            self.stager.finish()

    def start(self, m):
        if self.phase != 'idle':
            raise ProtocolError('PROTOCOL_BAD_SEQUENCE', 'start was already received; spawn a new trainer to train again')
        config, seed = m.get('config'), m.get('seed')
        if not isinstance(config, dict) or not isinstance(seed, (int, float)) or isinstance(seed, bool):
            raise ProtocolError('PROTOCOL_BAD_MESSAGE', 'start needs a config map and a numeric seed')
        staging = m.get('staging') if 'stage' in self.capabilities else None
        if staging is not None and not (isinstance(staging, dict) and isinstance(staging.get('dir'), str) and os.path.isabs(staging['dir'])):
            raise ProtocolError('PROTOCOL_BAD_MESSAGE', 'start.staging must be {dir: <absolute path>}')
        self.phase = 'setup'
        try:
            self.trainer.setup(config, int(seed), _unstaged(m))
            max_held = _positive_or(config.get('maxHeld'), DEFAULT_MAX_HELD)
            self.held = HeldStates(self.held.hold, max_held, _positive_or(config.get('keepEpochStates'), DEFAULT_KEEP_EPOCH_STATES))
            if staging is not None:
                self.stager = Stager(staging['dir'], max_held)
                min_bytes = config.get('stageMinBytes')
                self.stage_min_bytes = min_bytes if _is_count(min_bytes) else DEFAULT_STAGE_MIN_BYTES
            self.latest = self.trainer.capture()
            self.phase = 'training'
            epoch, step = self.trainer.train(Context(self, config, int(seed)))
        except Exception as error:
            code = getattr(error, 'code', None)
            if code:  # a known problem (e.g. PROTOCOL_BAD_STATE) says what to do; only a bug needs its traceback
                sys.stderr.write('%s: %s\n' % (code, error))
            else:
                traceback.print_exc(file=sys.stderr)
            self.finish_saves()
            send({'type': 'error', 'code': code or 'TRAINER_FAILED', 'message': str(error)})
            _exit(1)
        self.phase = 'finished'
        final = self.trainer.capture()
        send({'type': 'done', 'epoch': epoch, 'step': step, 'reason': 'stopped' if self.stop_requested else 'done',
              'weightsDigest': weights_digest(final)})


def _unstaged(m):
    """m['state'] once the reads of its staged tensors (begun when the command arrived) are done."""
    finish_unstage(m.get('_reads') or [])
    return m.get('state')


def _state_bytes(state):
    """Tensor bytes of a state (weights and optimizer slots of every object)."""
    return sum(memoryview(td['data']).nbytes for tensors in _tensor_lists(state) for td in tensors if isinstance(td, dict) and 'data' in td)


def _positive_or(value, fallback):
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else fallback


def run_trainer(trainer):
    """Serve the protocol for `trainer` until exit; never returns. run_trainer(MyTrainer())"""
    _Session(trainer).serve()

"""The bridge between a PyTorch script that owns its loop and the Python SDK (ckpt_trainer.py), which serves the
protocol and expects a Trainer whose setup / train / capture / restore it calls.

The SDK runs in a daemon thread ("ckpt-protocol"). Its Trainer.setup hands start's config, seed and state to the
script's main thread and waits until the script has built its Run; Trainer.train hands the SDK's Context over
and waits until the loop ends. In between, only the main thread touches the session: its Context calls
(epoch_end, checkpoint) carry out save / stop / restore between batches, as in any SDK trainer. After the loop,
the protocol thread keeps serving `save`, `eval`, `restore` until `exit`; the script's exit waits for that.

    bridge = Bridge('my-trainer', '1.0.0', evaluate=None)
    config, seed, state = bridge.serve()   # main thread: hello sent, start received
    ctx = bridge.attach(run)               # run.capture / run.restore now answer the SDK
    ...                                    # the loop
    bridge.finish(epoch, step)             # the SDK sends done
"""
import os
import queue
import threading


class LoopFailed(Exception):
    """The script's loop raised; its traceback is already on stderr."""

    def __init__(self, error):
        super().__init__('the training loop failed: %s: %s' % (type(error).__name__, error))
        self.code = 'TRAINER_FAILED'


class Bridge:
    def __init__(self, name, version, evaluate=None):
        import ckpt_trainer  # imported here: it points sys.stdout at stderr (stdout carries frames)
        self._sdk = ckpt_trainer
        self.name, self.version, self.backend = name, version, 'torch-cpu'
        self.evaluate = (lambda state, split: evaluate(state, split)) if evaluate else None
        self._to_main = queue.Queue()
        self._to_sdk = queue.Queue()
        self._run = None
        self._ended = False

    # ── main thread ─────────────────────────────────────────────────────────────────────────────────────
    def serve(self):
        """Start the SDK in its thread; return (config, seed, state) once `start` arrived."""
        trainer = _trainer_class(self._sdk.Trainer)(self)
        self._thread = threading.Thread(target=self._sdk.run_trainer, args=(trainer,), name='ckpt-protocol', daemon=True)
        self._thread.start()
        return self._from_sdk()

    def attach(self, run):
        """Let the SDK capture and restore through `run`; return the SDK's Context once training begins."""
        self._run = run
        self._to_sdk.put(('ready',))
        return self._from_sdk()

    def _from_sdk(self):
        while True:
            try:
                return self._to_main.get(timeout=0.5)
            except queue.Empty:
                if not self._thread.is_alive():  # the SDK failed without exiting (e.g. its stdout is gone)
                    os._exit(1)

    def finish(self, epoch, step):
        if not self._ended:
            self._ended = True
            self._to_sdk.put(('done', epoch, step))

    def fail(self, error):
        if not self._ended:
            self._ended = True
            self._to_sdk.put(('fail', error))

    def finish_at_exit(self):
        """atexit: end training where the loop left off, then wait while the SDK serves until `exit`."""
        if self._run is None:
            self.fail(RuntimeError('the script ended before it built a ckpt_torch.Run'))
        else:
            self.finish(self._run.epoch, self._run.step)
        # The SDK exits the process (os._exit) on `exit` or at the end of stdin. Its thread ending otherwise means it
        # failed (e.g. stdout closed: the supervisor is gone); then nothing is left to serve.
        self._thread.join()
        os._exit(1)

    # ── protocol thread ─────────────────────────────────────────────────────────────────────────────────
    def wait_for_main(self):
        message = self._to_sdk.get()
        if message[0] == 'fail':
            raise message[1] if getattr(message[1], 'code', None) else LoopFailed(message[1])
        return message


def _trainer_class(base):
    """What the SDK sees: a ckpt_trainer.Trainer (so it inherits whatever defaults the SDK gives trainers), whose
    methods the protocol thread calls."""

    class BridgedTrainer(base):
        def __init__(self, bridge):
            self.bridge = bridge
            self.name, self.version, self.backend = bridge.name, bridge.version, bridge.backend
            self.evaluate = bridge.evaluate

        def setup(self, config, seed, state):
            self.bridge._to_main.put((config, seed, state))
            self.bridge.wait_for_main()  # until the Run exists (and has restored `state`)

        def train(self, ctx):
            self.bridge._to_main.put(ctx)
            _, epoch, step = self.bridge.wait_for_main()
            return epoch, step

        def capture(self):
            return self.bridge._run.capture()

        def restore(self, state):
            self.bridge._run.restore(state)

    return BridgedTrainer

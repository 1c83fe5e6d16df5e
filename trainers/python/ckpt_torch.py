"""ckpt for PyTorch: your own training loop, checkpointed by `ckpt train`, killed and resumed to the same weights.

Run the script with `ckpt train --trainer my_script.py` (it runs under /usr/bin/python3). The loop reads like
PyTorch; the SDK answers the supervisor's save / stop / restore requests between batches and captures the model's
and optimizer's state_dicts, the LR scheduler, a GradScaler, torch's / numpy's / Python's RNGs and the data order:

    import ckpt_torch
    cfg = ckpt_torch.start(defaults={'epochs': 5, 'batchSize': 64, 'learningRate': 1e-3})  # seeds every RNG
    model = Net()
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg['learningRate'])
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    run = ckpt_torch.Run(model, optimizer, scheduler=scheduler)        # continues from a checkpoint when resumed
    for epoch in run.epochs():
        for x, y in run.batches(train_x, train_y, batch_size=cfg['batchSize']):   # seeded, resumable order
            optimizer.zero_grad(); loss = F.cross_entropy(model(x), y); loss.backward(); optimizer.step()
            run.track(len(y), loss=loss.item() * len(y))
        scheduler.step()
        run.epoch_end({**run.means(), 'val_loss': ..., 'val_acc': ...})

Outside training, `load('best', model, optimizer)`, `checkpoints()`, `compare([...])`, `tag(...)`, `verify()` and
`summary()` use the ledger through the ckpt CLI (torch_cli.py). Importing this module leaves stdout alone; start()
hands stdout to the protocol.
"""
import atexit
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402

import torch_state as ts  # noqa: E402
from torch_bridge import Bridge  # noqa: E402
from torch_cli import CkptError, checkpoints, compare, load, show, summary, tag, verify  # noqa: E402,F401

__all__ = ['start', 'Run', 'load', 'checkpoints', 'compare', 'show', 'tag', 'verify', 'summary', 'load_state', 'CkptError']

_started = None  # the Start of this process, once start() returned


class Start(dict):
    """start.config merged over the script's defaults, plus `seed` and the resumed `state` (or None)."""

    def __init__(self, values, seed, state, bridge):
        super().__init__(values)
        self.seed, self.state, self.bridge = seed, state, bridge


def start(defaults=None, name=None, version='1.0.0', evaluate=None, deterministic=True):
    """Speak the protocol (hello), wait for `start`, seed torch / numpy / random with its seed; return the config.

    `evaluate(state, split) -> metrics` answers `ckpt eval` (build a model, load_state(model, state), measure).
    With `deterministic`, torch.use_deterministic_algorithms(True) and one thread: a resumed run then ends with
    bit-identical weights. cfg = ckpt_torch.start({'epochs': 5, 'batchSize': 32}); cfg.seed -> 42
    """
    global _started
    if _started is not None:
        return _started
    if sys.stdin.isatty():  # started by hand: nobody will send `start`
        sys.stderr.write('PROTOCOL_NO_SUPERVISOR: this script trains under ckpt; run it with `ckpt train --trainer %s`\n' % sys.argv[0])
        sys.exit(2)
    bridge = Bridge(name or os.path.splitext(os.path.basename(sys.argv[0] or 'torch-trainer'))[0].replace('_', '-'), version, evaluate)
    setup = bridge.serve()
    _install_failure_hooks(bridge)
    config, seed, state = setup
    if deterministic:
        torch.use_deterministic_algorithms(True)
        torch.set_num_threads(1)
    ts.seed_everything(seed)
    _started = Start({**(defaults or {}), **config}, seed, state, bridge)
    return _started


def _install_failure_hooks(bridge):
    previous = sys.excepthook

    def excepthook(kind, error, tb):
        previous(kind, error, tb)
        bridge.fail(error)

    sys.excepthook = excepthook
    # A loop left early (break) ends training when the script ends; then keep serving saves until `exit`.
    atexit.register(bridge.finish_at_exit)


def load_state(model, state, optimizer=None):
    """Load a protocol CheckpointState's model (and optimizer) into torch objects. load_state(model, state)"""
    obj = state['objects']['model']
    ts.restore_model(model, obj['weights'])
    if optimizer is not None and obj.get('optimizer'):
        ts.restore_optimizer(optimizer, model, obj['optimizer'])


class Run:
    """One supervised training run of `model` (and optimizer, scheduler, scaler); see the module docstring."""

    def __init__(self, model, optimizer=None, scheduler=None, scaler=None, topology=None):
        s = start()
        self.model, self.optimizer, self.scheduler, self.scaler = model, optimizer, scheduler, scaler
        self.config, self.seed = s, s.seed
        self.total_epochs = int(s.get('epochs', 1))
        self.epoch, self.step, self.history = 0, 0, []
        self.totals = {}
        self.should_stop = False
        self._topology = {'framework': 'pytorch', 'torch': torch.__version__, 'class': type(model).__name__, **(topology or {})}
        self._sampler = torch.Generator().manual_seed(s.seed)
        self._epoch_sampler = ts.generator_state(self._sampler)  # before the permutation of the epoch in progress
        self._batch = 0             # batches done in the epoch in progress
        self._in_epoch = False
        self._batches_begun = False
        self._frozen = None         # the state at a mid-epoch stop
        self._t0 = time.perf_counter()
        if s.state:
            self._resume(s.state)
        self._ctx = s.bridge.attach(self)

    # ── the loop ────────────────────────────────────────────────────────────────────────────────────────
    def epochs(self):
        """Yield the 0-based index of each epoch still to train (like range(epochs)); stops on `stop`."""
        while self.epoch < self.total_epochs and not self.should_stop:
            self._in_epoch, self._batches_begun, self._t0 = True, False, time.perf_counter()
            yield self.epoch
            if self._in_epoch and not self.should_stop:
                raise RuntimeError('call run.epoch_end(metrics) at the end of each epoch')
            if self.checkpoint():
                break
        self.config.bridge.finish(self.epoch, self.step)

    def batches(self, *data, batch_size, shuffle=True):
        """Yield batches of `data` (tensors of equal length, or one Dataset) in a seeded order that a resumed run
        continues exactly; between batches, carry out the supervisor's requests. One call per epoch."""
        if self._batches_begun:
            raise RuntimeError('run.batches() was already called in this epoch; iterate it once per epoch')
        self._batches_begun = True
        n = len(data[0])
        order = torch.randperm(n, generator=self._sampler) if shuffle else torch.arange(n)
        count = (n + batch_size - 1) // batch_size
        every = int(self.config.get('batchEvery') or 0)
        for b in range(self._batch, count):
            index = order[b * batch_size:(b + 1) * batch_size]
            yield _take(data, index)
            self.step += 1
            self._batch = b + 1
            if every > 0 and self._batch % every == 0:
                self._ctx.batch_end(self.epoch + 1, self._batch, self.step, self.means())
            if self.checkpoint():
                if self._batch < count:
                    # Stopped mid-epoch: this is the run's final position. Freeze its state now, so code after the
                    # batch loop (scheduler.step(), validation) cannot move what `save` and `done` report.
                    self._frozen = self.capture()
                else:
                    self._in_epoch = False  # the epoch's batches are all done; epoch_end still reports it
                return

    def track(self, n, **sums):
        """Add a batch's sums to the epoch's running totals: run.track(len(y), loss=loss.item() * len(y), acc=correct)"""
        self.totals['n'] = self.totals.get('n', 0) + n
        for k, v in sums.items():
            self.totals[k] = self.totals.get(k, 0.0) + float(v)

    def means(self):
        """Running means of the tracked sums this epoch: {'loss': ..., 'acc': ...}"""
        n = self.totals.get('n', 0)
        return {k: v / n for k, v in self.totals.items() if k != 'n'} if n else {}

    def epoch_end(self, metrics):
        """Report the finished epoch (its state is held for `save`); False when a stop cut the epoch short."""
        if self._frozen is not None:
            return False  # a stop cut this epoch short: it is never reported
        self.epoch += 1
        metrics = {k: float(v) for k, v in metrics.items()}
        self.history.append({'epoch': self.epoch, 'metrics': metrics})
        self._in_epoch, self._batch, self.totals = False, 0, {}
        self._epoch_sampler = ts.generator_state(self._sampler)
        self._ctx.epoch_end(self.epoch, self.step, metrics, int((time.perf_counter() - self._t0) * 1000))
        return True

    def checkpoint(self):
        """Carry out queued supervisor commands now; True once `stop` arrived (then finish up and leave)."""
        if self._ctx.checkpoint():
            self.should_stop = True
        return self.should_stop

    def log(self, message, level='info'):
        self._ctx.log(level, message)

    # ── state ───────────────────────────────────────────────────────────────────────────────────────────
    def capture(self):
        """The whole training state as a protocol CheckpointState."""
        if self._frozen is not None:
            return self._frozen
        extra = {}
        if self.scheduler is not None:
            extra['scheduler'] = ts.capture_stateful(self.scheduler, 'scheduler')
        if self.scaler is not None:
            extra['scaler'] = ts.capture_stateful(self.scaler, 'scaler')
        rng = ts.capture_rng()
        rng['sampler'] = self._epoch_sampler if self._in_epoch else ts.generator_state(self._sampler)
        return {
            'objects': self._capture_objects(),
            'trainer': {'epoch': self.epoch, 'step': self.step, 'rng': rng,
                        'cursor': {'batch': self._batch if self._in_epoch else 0, 'totals': ts.plain(self.totals if self._in_epoch else {})},
                        'seed': self.seed, 'config': ts.plain(dict(self.config)), 'torch': extra},
            'history': [dict(h) for h in self.history],
        }

    def _capture_objects(self):
        obj = {'topology': self._topology, 'weights': ts.capture_model(self.model)}
        if self.optimizer is not None:
            obj['optimizer'] = ts.capture_optimizer(self.optimizer, self.model)
        return {'model': obj}

    def restore(self, state):
        """Replace weights and optimizer state (restore-best); the position stays."""
        load_state(self.model, state, self.optimizer)
        if self._frozen is not None:
            self._frozen = {**self._frozen, 'objects': self._capture_objects()}

    def _resume(self, state):
        self.restore(state)
        t = state['trainer']
        extra = t.get('torch') or {}
        if self.scheduler is not None:
            ts.restore_stateful(self.scheduler, extra.get('scheduler'))
        if self.scaler is not None:
            ts.restore_stateful(self.scaler, extra.get('scaler'))
        self.epoch, self.step = int(t['epoch']), int(t['step'])
        self.history = [dict(h) for h in state.get('history', [])]
        cursor = t.get('cursor') or {}
        self._batch = int(cursor.get('batch', 0))
        self.totals = ts.unplain(cursor.get('totals') or {})
        self._in_epoch = self._batch > 0
        ts.restore_rng(t['rng'], self._sampler)
        self._epoch_sampler = ts.generator_state(self._sampler)


def _take(data, index):
    if len(data) == 1 and not torch.is_tensor(data[0]):  # a Dataset
        from torch.utils.data import default_collate
        return default_collate([data[0][int(i)] for i in index])
    return tuple(d[index] for d in data) if len(data) > 1 else data[0][index]

"""Seed 002's CheckpointManager calls for scripts of your own, answered by the ledger through the ckpt CLI's
`--json` (never by opening LevelDB from Python: the CLI owns the format, verifies every blob, records exports).

    info = load('best', model, optimizer, dir='./checkpoints')   # -> {'checkpoint': 'ckpt-4', 'epoch': 4, 'metrics': {...}, ...}
    rows = checkpoints(dir='./checkpoints')                        # ckpt ls --json
    table = compare(['ckpt-2', 'ckpt-4'])['metrics_comparison']    # {'val_loss': {'ckpt-2': 0.31, 'ckpt-4': 0.27}, ...}
    tag('best', ['shipped'], description='release 1.2')
    verify('best')['ok']; summary()['best']

The CLI is found as $CKPT_BIN (a command line), else bin/ckpt.js of the package this file belongs to (run with
$CKPT_NODE or `node`), else `npx ckpt`. A CLI error becomes CkptError with its stable code (e.g. LEDGER_LOCKED
while `ckpt train` owns the directory, CLI_REF_UNKNOWN for a ref that matches nothing).
"""
import json
import os
import re
import shlex
import subprocess
import tempfile

import safetensors_torch
import torch_state as ts

_HERE = os.path.dirname(os.path.abspath(__file__))


class CkptError(Exception):
    """A ckpt CLI failure; `code` is its stable error code."""

    def __init__(self, code, message):
        super().__init__('%s: %s' % (code, message))
        self.code = code


def _command():
    if os.environ.get('CKPT_BIN'):
        return shlex.split(os.environ['CKPT_BIN'])
    bin_js = os.path.join(_HERE, '..', '..', 'bin', 'ckpt.js')
    if os.path.isfile(bin_js):
        return [os.environ.get('CKPT_NODE', 'node'), os.path.normpath(bin_js)]
    return ['npx', 'ckpt']


def ckpt_json(args, dir='./checkpoints', verdict=False):
    """Run `ckpt <args> --dir DIR --json` and return its JSON document. ckpt_json(['ls', '--all'])
    With `verdict`, a non-zero exit that still printed the command's document (ckpt verify: corrupt) returns it."""
    try:
        done = subprocess.run(_command() + list(args) + ['--dir', dir, '--json'], capture_output=True, text=True, timeout=300)
    except FileNotFoundError as error:
        raise CkptError('CLI_NOT_FOUND', 'cannot run the ckpt CLI (%s); set CKPT_BIN, e.g. CKPT_BIN="npx ckpt"' % error)
    if done.returncode != 0:
        try:
            document = json.loads(done.stdout)
        except ValueError:
            document = None
        if isinstance(document, dict) and isinstance(document.get('error'), dict):
            raise CkptError(document['error'].get('code', 'CLI_FAILED'), document['error'].get('message', ''))
        if verdict and document is not None:
            return document
        line = next((l for l in done.stderr.splitlines() if re.match(r'^[A-Z]+_[A-Z_]+: ', l)), None)
        if line:
            code, _, message = line.partition(': ')
            raise CkptError(code, message)
        raise CkptError('CLI_FAILED', 'ckpt %s exited %d: %s' % (args[0], done.returncode, (done.stderr.strip() or done.stdout.strip())[-500:]))
    return json.loads(done.stdout)


def load(ref, model, optimizer=None, dir='./checkpoints'):
    """Load checkpoint `ref` ('best', 'latest', an id, 'epoch:N', 'best:val_acc', ...) into `model` (and
    `optimizer`: Adam's moments and step, param-group hyperparameters). Returns the checkpoint's facts:
    {'checkpoint', 'run', 'epoch', 'step', 'metrics', 'weightsDigest'}."""
    with tempfile.TemporaryDirectory(prefix='ckpt-torch-') as tmp:
        path = os.path.join(tmp, 'checkpoint.safetensors')
        args = ['export', ref, '--format', 'safetensors', '--out', path] + (['--include-optimizer'] if optimizer is not None else [])
        ckpt_json(args, dir)
        tensors, meta = safetensors_torch.load_file(path)
    weights = {k: v for k, v in tensors.items() if not k.startswith('optimizer/')}
    ts.restore_model(model, weights)
    if optimizer is not None:
        saved = json.loads(meta.get('ckpt.optimizer', '{}')).get('model')
        if not saved:
            raise CkptError('STORE_NO_OPTIMIZER', '%s holds no optimizer state; load it without optimizer=' % ref)
        slots = {k[len('optimizer/'):]: v for k, v in tensors.items() if k.startswith('optimizer/')}
        ts.load_optimizer(optimizer, model, saved['className'], saved['config'], slots)
    return {'checkpoint': meta['ckpt.checkpoint'], 'run': meta['ckpt.run'], 'epoch': int(meta['ckpt.epoch']),
            'step': int(meta['ckpt.step']), 'metrics': json.loads(meta['ckpt.metrics']), 'weightsDigest': meta['ckpt.weightsDigest']}


def checkpoints(dir='./checkpoints', all=False, run=None):
    """The kept checkpoints (with all=True the pruned ones too), as `ckpt ls --json` lists them."""
    return ckpt_json(['ls'] + (['--all'] if all else []) + (['--run', run] if run else []), dir)


def show(ref, dir='./checkpoints'):
    """One checkpoint: metrics, lineage, tags, description, weightsDigest (`ckpt show --json`)."""
    return ckpt_json(['show', ref], dir)


def compare(refs, dir='./checkpoints'):
    """Seed 002's compare_checkpoints: {'checkpoints': [show...], 'metrics_comparison': {metric: {id: value}}}."""
    shown = [show(r, dir) for r in refs]
    table = {}
    for s in shown:
        for metric, value in (s.get('metrics') or {}).items():
            table.setdefault(metric, {})[s['id']] = value
    return {'checkpoints': shown, 'metrics_comparison': table}


def verify(ref=None, dir='./checkpoints'):
    """Seed 002's validate_checkpoint: SHA-256 of every blob of `ref` (default: every kept checkpoint).
    -> {'ok': bool, 'checked': n, 'failed': [ids], 'results': [...]}; a corrupt one is recorded in the ledger."""
    return ckpt_json(['verify'] + ([ref] if ref else []), dir, verdict=True)


def summary(dir='./checkpoints'):
    """Seed 002's get_checkpoint_summary: counts, bytes, best, latest, runs (`ckpt summary --json`)."""
    return ckpt_json(['summary'], dir)


def tag(ref, tags, description=None, dir='./checkpoints'):
    """Add tags (and a description) to a checkpoint, recorded as CheckpointTagged (`ckpt tag`)."""
    return ckpt_json(['tag', ref] + list(tags) + (['--description', description] if description else []), dir)

#!/usr/bin/env python3
"""Logistic regression in plain Python, trained under the ckpt supervisor (protocol v1).

Data: a fixed synthetic two-class problem (dataSeed, default 1234): `features` gaussian inputs, labels from a
hidden linear rule with 10% label noise. Training: minibatch SGD with momentum, shuffled each epoch by a seeded
random.Random whose state is part of the checkpoint, so a resumed run ends with bit-identical weights.
Config knobs: epochs, batchSize (32), learningRate (0.1), momentum (0.9), trainSize (512), validationSize (128),
testSize (128), features (8), dataSeed (1234). Metrics: loss, acc, val_loss, val_acc.
"""
import math
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ckpt_trainer import Trainer, run_trainer, tensor, tensor_values  # noqa: E402

DEFAULTS = {'epochs': 5, 'batchSize': 32, 'learningRate': 0.1, 'momentum': 0.9, 'trainSize': 512,
            'validationSize': 128, 'testSize': 128, 'features': 8, 'dataSeed': 1234, 'batchEvery': 0}


def make_data(n_total, features, data_seed):
    rng = random.Random(data_seed)
    rule = [rng.uniform(-1, 1) for _ in range(features)]
    rows = []
    for _ in range(n_total):
        x = [rng.gauss(0, 1) for _ in range(features)]
        y = 1.0 if sum(a * b for a, b in zip(rule, x)) > 0 else 0.0
        if rng.random() < 0.1:
            y = 1.0 - y
        rows.append((x, y))
    return rows


def sigmoid(z):
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def rng_state_to_list(state):
    version, words, gauss = state
    return [version, list(words), gauss]


def rng_state_from_list(value):
    version, words, gauss = value
    return (version, tuple(words), gauss)


class LogisticRegression(Trainer):
    name = 'logistic-regression'
    version = '1.0.0'
    backend = 'python'

    def setup(self, config, seed, state):
        self.config = dict(DEFAULTS)
        self.config.update({k: v for k, v in config.items() if k in DEFAULTS and isinstance(v, (int, float))})
        c = self.config
        n_train, n_val, n_test = int(c['trainSize']), int(c['validationSize']), int(c['testSize'])
        rows = make_data(n_train + n_val + n_test, int(c['features']), int(c['dataSeed']))
        self.splits = {'train': rows[:n_train], 'validation': rows[n_train:n_train + n_val], 'test': rows[n_train + n_val:]}
        self.seed = seed
        init = random.Random(seed)
        self.w = [init.uniform(-0.1, 0.1) for _ in range(int(c['features']))]
        self.b = 0.0
        self.vw = [0.0] * len(self.w)
        self.vb = 0.0
        self.epoch, self.step, self.history = 0, 0, []
        self.rng = random.Random(seed + 1)
        # Position inside the epoch in progress: batches done and running sums (for mid-epoch saves).
        self.cursor = {'batch': 0, 'lossSum': 0.0, 'correct': 0}
        if state:
            self.restore(state)
            t = state['trainer']
            self.epoch, self.step = int(t['epoch']), int(t['step'])
            # `rng` is the generator's state before the shuffle of the epoch in progress (or the next one).
            self.rng.setstate(rng_state_from_list(t['rng']))
            self.cursor.update(t.get('cursor') or {})
            self.history = [dict(h) for h in state.get('history', [])]
        self.epoch_rng = self.rng.getstate()

    def capture(self):
        return {
            'objects': {'model': {
                'topology': {'kind': 'logistic-regression', 'features': len(self.w)},
                'weights': [tensor('w', self.w, [len(self.w)]), tensor('b', [self.b], [1])],
                'optimizer': {'className': 'SGDMomentum',
                              'config': {'learningRate': self.config['learningRate'], 'momentum': self.config['momentum']},
                              'slots': [tensor('w/velocity', self.vw, [len(self.vw)]), tensor('b/velocity', [self.vb], [1])],
                              'hidden': {}},
            }},
            'trainer': {'epoch': self.epoch, 'step': self.step, 'rng': rng_state_to_list(self.epoch_rng),
                        'cursor': dict(self.cursor), 'seed': self.seed, 'config': dict(self.config)},
            'history': [dict(h) for h in self.history],
        }

    def restore(self, state):
        model = state['objects']['model']
        weights = {t['name']: tensor_values(t) for t in model['weights']}
        if len(weights.get('w', [])) != len(self.w):
            raise ValueError('checkpoint has %d features, this model %d' % (len(weights.get('w', [])), len(self.w)))
        self.w, self.b = weights['w'], weights['b'][0]
        slots = {t['name']: tensor_values(t) for t in (model.get('optimizer') or {}).get('slots', [])}
        self.vw = slots.get('w/velocity', [0.0] * len(self.w))
        self.vb = slots.get('b/velocity', [0.0])[0]

    def measure(self, rows, w=None, b=None):
        w, b = w or self.w, self.b if b is None else b
        loss, correct = 0.0, 0
        for x, y in rows:
            p = sigmoid(sum(a * c for a, c in zip(w, x)) + b)
            p = min(max(p, 1e-7), 1 - 1e-7)
            loss -= y * math.log(p) + (1 - y) * math.log(1 - p)
            correct += (p >= 0.5) == (y == 1.0)
        return loss / len(rows), correct / len(rows)

    def evaluate(self, state, split):
        if not hasattr(self, 'splits'):  # `eval` without `start` (ckpt eval): build the data the state was trained on
            self.setup(dict(state['trainer'].get('config') or {}), int(state['trainer'].get('seed') or 0), None)
        weights = {t['name']: tensor_values(t) for t in state['objects']['model']['weights']}
        loss, acc = self.measure(self.splits[split], weights['w'], weights['b'][0])
        return {'loss': loss, 'acc': acc}

    def train(self, ctx):
        c = self.config
        lr, mom, bs = float(c['learningRate']), float(c['momentum']), int(c['batchSize'])
        train = self.splits['train']
        if self.step > 0:
            ctx.log('info', 'resuming at epoch %d, batch %d (step %d)' % (self.epoch + 1, self.cursor['batch'] + 1, self.step))
        while self.epoch < int(c['epochs']):
            t0 = time.perf_counter()
            self.epoch_rng = self.rng.getstate()
            order = list(range(len(train)))
            self.rng.shuffle(order)
            for start in range(self.cursor['batch'] * bs, len(order), bs):
                batch = [train[i] for i in order[start:start + bs]]
                gw, gb = [0.0] * len(self.w), 0.0
                for x, y in batch:
                    p = sigmoid(sum(a * b for a, b in zip(self.w, x)) + self.b)
                    pc = min(max(p, 1e-7), 1 - 1e-7)
                    self.cursor['lossSum'] -= y * math.log(pc) + (1 - y) * math.log(1 - pc)
                    self.cursor['correct'] += int((p >= 0.5) == (y == 1.0))
                    for j, xj in enumerate(x):
                        gw[j] += (p - y) * xj
                    gb += p - y
                n = len(batch)
                self.vw = [mom * v + g / n for v, g in zip(self.vw, gw)]
                self.vb = mom * self.vb + gb / n
                self.w = [w - lr * v for w, v in zip(self.w, self.vw)]
                self.b -= lr * self.vb
                self.step += 1
                self.cursor['batch'] += 1
                batch_index = self.cursor['batch']
                if int(c['batchEvery']) > 0 and batch_index % int(c['batchEvery']) == 0:
                    seen = min(start + bs, len(order))
                    ctx.batch_end(self.epoch + 1, batch_index, self.step,
                                  {'loss': self.cursor['lossSum'] / seen, 'acc': self.cursor['correct'] / seen})
                if ctx.checkpoint():
                    return self.epoch, self.step
            val_loss, val_acc = self.measure(self.splits['validation'])
            metrics = {'loss': self.cursor['lossSum'] / len(train), 'acc': self.cursor['correct'] / len(train),
                       'val_loss': val_loss, 'val_acc': val_acc}
            self.epoch += 1
            self.cursor = {'batch': 0, 'lossSum': 0.0, 'correct': 0}
            self.epoch_rng = self.rng.getstate()
            self.history.append({'epoch': self.epoch, 'metrics': metrics})
            ctx.epoch_end(self.epoch, self.step, metrics, int((time.perf_counter() - t0) * 1000))
            if ctx.checkpoint():
                break
        return self.epoch, self.step


if __name__ == '__main__':
    run_trainer(LogisticRegression())

#!/usr/bin/env python3
"""The seeds' PyTorch MNIST loop (an MLP 784-128-64-10, or a small CNN), trained under `ckpt train` on CPU:

    ckpt train --trainer trainers/python/torch_mnist.py --epochs 5 --trainer-config '{"model": "cnn"}'

Data: the deterministic digit split of the tfjs trainers (torch_mnist_data.py). Adam with a StepLR schedule, a
seeded data order, deterministic algorithms on one thread, so a run killed anywhere resumes to bit-identical
weights. Config: epochs (5), batchSize (32), trainSize (3000), validationSize (500), testSize (500),
learningRate (0.001), model ('mlp' | 'cnn'), lrStepSize (2), lrGamma (0.7), batchEvery (0).
Metrics: loss, acc (running over the epoch), val_loss, val_acc. `ckpt eval` measures loss and acc on a split.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import ckpt_torch  # noqa: E402
from torch_mnist_data import load_mnist  # noqa: E402

DEFAULTS = {'epochs': 5, 'batchSize': 32, 'trainSize': 3000, 'validationSize': 500, 'testSize': 500,
            'learningRate': 0.001, 'model': 'mlp', 'lrStepSize': 2, 'lrGamma': 0.7, 'batchEvery': 0}


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 128), nn.Linear(128, 64), nn.Linear(64, 10)

    def forward(self, x):
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 8, 3), nn.Conv2d(8, 16, 3)
        self.fc = nn.Linear(16 * 5 * 5, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x.view(-1, 1, 28, 28))), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(x.flatten(1))


def build_model(config):
    """MLP() or CNN() as config['model'] says. build_model({'model': 'cnn'}) -> CNN"""
    kinds = {'mlp': MLP, 'cnn': CNN}
    if config.get('model', 'mlp') not in kinds:
        raise ValueError('config.model must be mlp or cnn, not %r' % config.get('model'))
    return kinds[config.get('model', 'mlp')]()


def load_data(config):
    return load_mnist(config['trainSize'], config['validationSize'], config['testSize'])


@torch.no_grad()
def measure(model, x, y, batch_size=500):
    """(mean cross-entropy, accuracy) of `model` on x, y."""
    model.eval()
    loss, correct = 0.0, 0
    for i in range(0, len(y), batch_size):
        out = model(x[i:i + batch_size])
        loss += F.cross_entropy(out, y[i:i + batch_size], reduction='sum').item()
        correct += (out.argmax(1) == y[i:i + batch_size]).sum().item()
    return loss / len(y), correct / len(y)


def evaluate(state, split):
    """`ckpt eval`: the checkpoint's own config says which model and data; measure it on `split`."""
    config = {**DEFAULTS, **(state['trainer'].get('config') or {})}
    model = build_model(config)
    ckpt_torch.load_state(model, state)
    x, y = load_data(config)[split]
    loss, acc = measure(model, x, y)
    return {'loss': loss, 'acc': acc}


def main():
    cfg = ckpt_torch.start(defaults=DEFAULTS, name='torch-mnist', evaluate=evaluate)
    data = load_data(cfg)
    model = build_model(cfg)
    optimizer = torch.optim.Adam(model.parameters(), lr=float(cfg['learningRate']))
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=int(cfg['lrStepSize']), gamma=float(cfg['lrGamma']))
    run = ckpt_torch.Run(model, optimizer, scheduler=scheduler, topology={'model': cfg['model']})
    train_x, train_y = data['train']
    for epoch in run.epochs():
        model.train()
        for x, y in run.batches(train_x, train_y, batch_size=int(cfg['batchSize'])):
            optimizer.zero_grad()
            out = model(x)
            loss = F.cross_entropy(out, y)
            loss.backward()
            optimizer.step()
            run.track(len(y), loss=loss.item() * len(y), acc=(out.argmax(1) == y).sum().item())
        scheduler.step()
        val_loss, val_acc = measure(model, *data['validation'])
        run.epoch_end({**run.means(), 'val_loss': val_loss, 'val_acc': val_acc})


if __name__ == '__main__':
    main()

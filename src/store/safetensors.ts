/**
 * The safetensors format (https://github.com/huggingface/safetensors): u64 little-endian header length N,
 * N bytes of JSON header padded with spaces to a multiple of 8, then the tensors' bytes back to back.
 * Layout matches the reference Rust serializer: tensors ordered by descending dtype rank, then by name;
 * `__metadata__` first (its keys sorted, for a deterministic file); compact JSON.
 */
import type { DType } from '../checkpoint.js';
import { CkptError } from '../errors.js';

/** safetensors dtype names, and their rank in the reference implementation's Dtype enum. */
const SAFETENSORS_DTYPE: Partial<Record<DType, { name: string; rank: number }>> = {
  bool: { name: 'BOOL', rank: 0 },
  uint8: { name: 'U8', rank: 4 },
  int8: { name: 'I8', rank: 5 },
  int16: { name: 'I16', rank: 9 },
  uint16: { name: 'U16', rank: 10 },
  float16: { name: 'F16', rank: 11 },
  int32: { name: 'I32', rank: 13 },
  uint32: { name: 'U32', rank: 14 },
  float32: { name: 'F32', rank: 15 },
  float64: { name: 'F64', rank: 17 },
  int64: { name: 'I64', rank: 18 },
};

export interface SafetensorsTensor {
  name: string;
  dtype: DType;
  shape: number[];
  data: Uint8Array;
}

/**
 * Serialize tensors (and string metadata) to safetensors bytes.
 * @example const bytes = encodeSafetensors([{ name: 'w', dtype: 'float32', shape: [2], data }], { epoch: '3' })
 */
export function encodeSafetensors(tensors: readonly SafetensorsTensor[], metadata: Record<string, string> = {}): Buffer {
  const seen = new Set<string>();
  for (const t of tensors) {
    if (!SAFETENSORS_DTYPE[t.dtype]) throw new CkptError('STORE_EXPORT_UNSUPPORTED', `tensor '${t.name}' has dtype ${t.dtype}, which safetensors cannot hold; export as tfjs or bundle instead`);
    if (seen.has(t.name) || t.name === '__metadata__') throw new CkptError('STORE_EXPORT_UNSUPPORTED', `tensor name '${t.name}' is duplicated or reserved; safetensors needs unique names`);
    seen.add(t.name);
  }
  const ordered = [...tensors].sort((a, b) => {
    const rank = SAFETENSORS_DTYPE[b.dtype]!.rank - SAFETENSORS_DTYPE[a.dtype]!.rank;
    return rank !== 0 ? rank : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
  const parts: string[] = [];
  const metaKeys = Object.keys(metadata).sort();
  if (metaKeys.length > 0) {
    parts.push(`"__metadata__":{${metaKeys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(String(metadata[k]))}`).join(',')}}`);
  }
  let offset = 0;
  for (const t of ordered) {
    const end = offset + t.data.byteLength;
    parts.push(`${JSON.stringify(t.name)}:{"dtype":"${SAFETENSORS_DTYPE[t.dtype]!.name}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  let header = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const pad = (8 - (header.byteLength % 8)) % 8;
  if (pad > 0) header = Buffer.concat([header, Buffer.alloc(pad, 0x20)]);
  const out = Buffer.allocUnsafe(8 + header.byteLength + offset);
  out.writeBigUInt64LE(BigInt(header.byteLength), 0);
  header.copy(out, 8);
  let at = 8 + header.byteLength;
  for (const t of ordered) {
    out.set(t.data, at);
    at += t.data.byteLength;
  }
  return out;
}

/**
 * Byte sizes of tensor dtypes and the check that a tensor's bytes match its shape.
 */
import { isStaged, type DType, type WireTensor } from '../checkpoint.js';
import { CkptError } from '../errors.js';

/** Bytes per element; `string` has no fixed size. */
export const DTYPE_BYTES: Record<DType, number | null> = {
  float32: 4, int32: 4, bool: 1, complex64: 8, string: null,
  float16: 2, float64: 8, int8: 1, int16: 2, int64: 8, uint8: 1, uint16: 2, uint32: 4,
};

/** Number of elements of a shape. @example elementCount([2, 3]) // 6 */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/**
 * Throw STORE_INVALID when a tensor's byte length does not fit its dtype and shape.
 * @example assertTensorShape({ name: 'w', dtype: 'float32', shape: [2], data: new Uint8Array(8) })
 */
export function assertTensorShape(tensor: WireTensor, where: string): void {
  if (!(tensor.dtype in DTYPE_BYTES)) {
    throw new CkptError('STORE_INVALID', `${where}: tensor '${tensor.name}' has unknown dtype '${tensor.dtype}'; use one of ${Object.keys(DTYPE_BYTES).join(', ')}`);
  }
  if (!Array.isArray(tensor.shape) || tensor.shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new CkptError('STORE_INVALID', `${where}: tensor '${tensor.name}' has an invalid shape ${JSON.stringify(tensor.shape)}`);
  }
  if (isStaged(tensor) ? !Number.isInteger(tensor.bytes) || tensor.bytes < 0 : !(tensor.data instanceof Uint8Array)) {
    throw new CkptError('STORE_INVALID', `${where}: tensor '${tensor.name}' data must be a Uint8Array of raw little-endian bytes, or a staged file with its length`);
  }
  const size = DTYPE_BYTES[tensor.dtype];
  const has = isStaged(tensor) ? tensor.bytes : tensor.data.byteLength;
  if (size !== null && has !== elementCount(tensor.shape) * size) {
    throw new CkptError(
      'STORE_INVALID',
      `${where}: tensor '${tensor.name}' (${tensor.dtype} ${JSON.stringify(tensor.shape)}) needs ${elementCount(tensor.shape) * size} bytes but has ${has}; send raw little-endian bytes`,
    );
  }
}

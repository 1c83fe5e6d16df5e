/**
 * Length-prefixed msgpack frames: a 4-byte big-endian unsigned length, then that many bytes of msgpack.
 * `encodeFrame` builds one; `FrameDecoder` turns an arbitrary chunked byte stream back into messages and
 * rejects malformed input with PROTOCOL_* errors instead of crashing or buffering without bound.
 *
 * @example
 *   const decoder = new FrameDecoder({ accept: TRAINER_MESSAGE_TYPES });
 *   child.stdout.on('data', (chunk) => { for (const m of decoder.push(chunk)) handle(m) });
 */
import { Packr } from 'msgpackr';
import { CkptError } from '../errors.js';

// Records off: every frame is self-describing, so any language's msgpack library can read it.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

export const DEFAULT_MAX_FRAME_BYTES = 1 << 30; // 1 GiB: larger models must raise it explicitly.

/**
 * One frame: the 4-byte big-endian length of the msgpack body, then the body.
 * @example child.stdin.write(encodeFrame({ type: 'save', requestId: 's1', at: 'now' }))
 */
export function encodeFrame(message: { type: string } & Record<string, unknown>): Buffer {
  const body = packr.pack(message);
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

export interface FrameDecoderOptions {
  /** Message types this side accepts; anything else is PROTOCOL_UNKNOWN_TYPE. */
  accept: readonly string[];
  maxFrameBytes?: number;
  /** Who writes the stream, for error messages; default: 'trainer' when `accept` holds trainer messages, else 'supervisor'. */
  sender?: 'trainer' | 'supervisor';
}

/**
 * Incremental decoder for one byte stream: keeps a partial frame between chunks, returns whole messages.
 * @example const decoder = new FrameDecoder({ accept: SUPERVISOR_MESSAGE_TYPES }); decoder.push(chunk) // → [{ type: 'start', ... }]
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private readonly accept: ReadonlySet<string>;
  private readonly maxFrameBytes: number;
  private readonly sender: 'trainer' | 'supervisor';

  constructor(options: FrameDecoderOptions) {
    this.accept = new Set(options.accept);
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    // The trainer SDKs decode the supervisor's commands with this same class: name the right side in errors.
    this.sender = options.sender ?? (this.accept.has('hello') ? 'trainer' : 'supervisor');
  }

  /** Bytes received but not yet part of a complete frame (non-zero at EOF means a truncated frame). */
  get pending(): number {
    return this.buffered;
  }

  /**
   * Feed bytes; returns every message completed by them, in order. Throws on the first bad frame; the good
   * messages that came before it in the same chunk are on the error as `details.messages`.
   */
  push(chunk: Uint8Array): Array<{ type: string } & Record<string, unknown>> {
    this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.buffered += chunk.byteLength;
    const messages: Array<{ type: string } & Record<string, unknown>> = [];
    try {
      this.drainInto(messages);
    } catch (error) {
      if (error instanceof CkptError) error.details.messages = messages;
      throw error;
    }
    return messages;
  }

  private drainInto(messages: Array<{ type: string } & Record<string, unknown>>): void {
    while (this.buffered >= 4) {
      const head = this.peek(4);
      const length = head.readUInt32BE(0);
      if (length > this.maxFrameBytes) {
        throw new CkptError('PROTOCOL_FRAME_TOO_LARGE', `${this.sender} sent a frame of ${length} bytes (limit ${this.maxFrameBytes}); check that the ${this.sender} writes only protocol frames to ${this.sender === 'trainer' ? 'stdout (logs go to stderr)' : 'the trainer\'s stdin'}`, { details: { length, limit: this.maxFrameBytes } });
      }
      if (this.buffered < 4 + length) break;
      const frame = this.take(4 + length).subarray(4);
      messages.push(this.decode(frame));
    }
  }

  private decode(body: Buffer): { type: string } & Record<string, unknown> {
    let value: unknown;
    try {
      value = packr.unpack(body);
    } catch (cause) {
      throw new CkptError('PROTOCOL_MALFORMED', `${this.sender} sent a frame that is not valid msgpack (${body.length} bytes); the ${this.sender} must write only protocol frames to ${this.sender === 'trainer' ? 'stdout' : 'the trainer\'s stdin'}`, { cause });
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value) || typeof (value as { type?: unknown }).type !== 'string') {
      throw new CkptError('PROTOCOL_MALFORMED', `${this.sender} sent a frame that is not a map with a string \`type\`; see docs/protocol.md`);
    }
    const message = value as { type: string } & Record<string, unknown>;
    if (!this.accept.has(message.type)) {
      throw new CkptError('PROTOCOL_UNKNOWN_TYPE', `unknown message type "${String(message.type).slice(0, 40)}"; expected one of ${[...this.accept].join(', ')}`, { details: { type: message.type } });
    }
    return message;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0].length >= n) return this.chunks[0].subarray(0, n);
    // Merge just enough leading chunks to cover n bytes, so a slow drip of tiny chunks stays linear.
    let count = 0;
    let bytes = 0;
    while (bytes < n) bytes += this.chunks[count++].length;
    const head = Buffer.concat(this.chunks.slice(0, count));
    this.chunks.splice(0, count, head);
    return head.subarray(0, n);
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }
}

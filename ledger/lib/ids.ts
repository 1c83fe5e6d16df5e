import { randomUUID } from 'node:crypto';

/**
 * Ids the ledger generates are UUID-shaped (version nibble 8, "custom") and carry their event's seq in the
 * last 12 hex digits. Such an id is found through its record key, so it needs no id-index entry: an
 * append of generated ids writes one LevelDB entry per event, not two. Every other id (caller-supplied, or one
 * whose embedded seq is not its own) is written to the id index.
 */
const GENERATED = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * The random part shared by the ids generated in one append (24 characters, dashes included); the seq
 * suffix makes each id unique within the ledger, the random prefix across ledgers.
 * @example generatedId(generatedIdPrefix(), 42).endsWith('00000000002a') // true
 */
export function generatedIdPrefix(): string {
  const uuid = randomUUID();
  return `${uuid.slice(0, 14)}8${uuid.slice(15, 24)}`;
}

/** The generated id of the event stored at `seq`. */
export function generatedId(prefix: string, seq: number): string {
  const hex = seq.toString(16);
  return prefix + '000000000000'.slice(hex.length) + hex;
}

/** The seq an id claims to be stored at (generated shape), or undefined. @example embeddedSeq(generatedId(7)) // 7 */
export function embeddedSeq(id: string): number | undefined {
  return id.length === 36 && GENERATED.test(id) ? Number.parseInt(id.slice(24), 16) : undefined;
}

/** True when the id needs no index entry because its record key already finds it. */
export function isSelfLocating(id: string, seq: number): boolean {
  return embeddedSeq(id) === seq;
}

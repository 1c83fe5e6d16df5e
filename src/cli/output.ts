/**
 * The output layer: one JSON document (or one JSON object per line when following) for scripts, aligned
 * cli-table3 tables and picocolors colour for people — colour only when stdout is a TTY and NO_COLOR is unset.
 */
import Table from 'cli-table3';
import pc from 'picocolors';

export type Colors = ReturnType<typeof pc.createColors>;
export type Align = 'left' | 'right' | 'center';

export interface OutputOptions {
  json?: boolean;
  stdout?: NodeJS.WritableStream & { isTTY?: boolean };
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Borderless table: columns separated by two spaces, header underlined by colour only. */
const PLAIN_CHARS = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
};

export class Output {
  readonly json: boolean;
  readonly color: boolean;
  readonly c: Colors;
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };

  constructor(options: OutputOptions = {}) {
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
    this.json = options.json ?? false;
    this.color = !this.json && Boolean(this.stdout.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
    this.c = pc.createColors(this.color);
  }

  /** Print one line (or several) of human text. */
  line(text = ''): void {
    this.stdout.write(text + '\n');
  }

  /** Print a value as one pretty JSON document. */
  document(value: unknown): void {
    this.stdout.write(JSON.stringify(value, null, 2) + '\n');
  }

  /** Print a value as one compact JSON line (for `--follow`). */
  jsonLine(value: unknown): void {
    this.stdout.write(JSON.stringify(value) + '\n');
  }

  /** A note for people on stderr (never mixed into JSON on stdout). */
  note(text: string): void {
    this.stderr.write(text + '\n');
  }

  /**
   * An aligned table. `aligns` per column; numbers are usually right-aligned.
   * @example out.table(['ID', 'EPOCH'], [['ckpt-1', '1']], ['left', 'right'])
   */
  table(head: string[], rows: string[][], aligns: Align[] = []): void {
    const table = new Table({
      head: head.map((h) => this.c.bold(h)),
      chars: PLAIN_CHARS,
      style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
      colAligns: head.map((_, i) => aligns[i] ?? 'left'),
    });
    for (const row of rows) table.push(row);
    this.line(table.toString().split('\n').map((l) => l.trimEnd()).join('\n'));
  }

  /** `key: value` lines with the keys aligned. */
  fields(pairs: [string, string][]): void {
    const width = Math.max(0, ...pairs.map(([k]) => k.length));
    for (const [k, v] of pairs) this.line(`${this.c.dim(k.padEnd(width))}  ${v}`);
  }
}

/**
 * The last lines a trainer wrote on stderr, kept so that a trainer failing before hello (a missing module, a
 * syntax error) is reported with its own words, not only "exited without done".
 *
 * @example
 *   const tail = new StderrTail(20);
 *   tail.push('ModuleNotFoundError: No module named msgpack');
 *   tail.text() // '  ModuleNotFoundError: No module named msgpack'
 */
export class StderrTail {
  private readonly kept: string[] = [];

  constructor(private readonly max = 20) {}

  push(line: string): void {
    this.kept.push(line.slice(0, 1000));
    if (this.kept.length > this.max) this.kept.shift();
  }

  get lines(): string[] {
    return [...this.kept];
  }

  /** The kept lines, indented, or '' when there are none. */
  text(): string {
    return this.kept.map((line) => `  ${line}`).join('\n');
  }
}

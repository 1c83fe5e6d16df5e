/**
 * A seeded, serializable random number generator (sfc32, seeded through splitmix32). Its whole state is four
 * uint32 words, so a checkpoint can carry it and a resumed run draws the very same numbers.
 */
export type RngState = [number, number, number, number];

/** @example const rng = Rng.fromSeed(7); const saved = rng.state(); rng.next() === Rng.fromState(saved).next() */
export class Rng {
  private s: Uint32Array;

  private constructor(words: readonly number[]) {
    this.s = Uint32Array.from(words);
  }

  /**
   * A generator seeded from one integer.
   * @example Rng.fromSeed(42).next() // same value in every process
   */
  static fromSeed(seed: number): Rng {
    let x = seed >>> 0;
    const split = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    const rng = new Rng([split(), split(), split(), split()]);
    for (let i = 0; i < 12; i++) rng.nextUint32(); // discard the first outputs, as sfc32's authors advise
    return rng;
  }

  /** @example Rng.fromState(rng.state()).next() === rng.next() */
  static fromState(state: readonly number[]): Rng {
    if (!Array.isArray(state) || state.length !== 4 || !state.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff)) {
      // Reaches the supervisor as the trainer's error frame: a stable code, not a bare Error.
      throw Object.assign(new Error('trainer.rng in the checkpoint state must be four uint32 words; resume from a state this trainer saved'), { code: 'PROTOCOL_BAD_STATE' });
    }
    return new Rng(state);
  }

  state(): RngState {
    return [this.s[0], this.s[1], this.s[2], this.s[3]];
  }

  nextUint32(): number {
    const s = this.s;
    const t = (((s[0] + s[1]) >>> 0) + s[3]) >>> 0;
    s[3] = (s[3] + 1) >>> 0;
    s[0] = s[1] ^ (s[1] >>> 9);
    s[1] = (s[2] + (s[2] << 3)) >>> 0;
    s[2] = ((s[2] << 21) | (s[2] >>> 11)) >>> 0;
    s[2] = (s[2] + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /**
   * A seeded Fisher–Yates permutation of 0..n-1.
   * @example rng.permutation(5) // e.g. Int32Array [3, 0, 4, 1, 2]
   */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}

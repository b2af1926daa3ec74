// A seeded pseudo-random generator (mulberry32), so that a failing fuzz or fault schedule replays exactly from its seed.

export interface Random {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** A whole number in [min, max]. */
  integer(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  chance(probability: number): boolean;
  bytes(length: number): Buffer;
}

/** The seed from `RELIABILITY_SEED` when set, else a fresh one; print it with any failure. */
export function seedFromEnvironment(): number {
  const raw = process.env.RELIABILITY_SEED;
  if (raw !== undefined && raw.trim() !== '') return Number.parseInt(raw, 10) >>> 0;
  return Math.floor(Math.random() * 2 ** 32) >>> 0;
}

export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
  const integer = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  return {
    seed,
    next,
    integer,
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[integer(0, items.length - 1)]!;
    },
    chance: (probability) => next() < probability,
    bytes: (length) => {
      const buffer = Buffer.alloc(length);
      for (let index = 0; index < length; index++) buffer[index] = integer(0, 255);
      return buffer;
    },
  };
}

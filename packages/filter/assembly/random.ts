// SplitMix64: fast, well-distributed, and needs no host import (AssemblyScript's Math.random would import a seed).

let state: u64 = 0x853c49e6748fea9b;

export function seedRandom(seed: u64): void {
  state ^= seed;
  // Discard a few outputs so that close seeds diverge.
  nextU64();
  nextU64();
}

export function nextU64(): u64 {
  state += 0x9e3779b97f4a7c15;
  let z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

/** Uniform in [0, 1) with 53 bits of precision. */
export function uniform(): f64 {
  return <f64>(nextU64() >> 11) * (1.0 / 9007199254740992.0);
}

const HEX = '0123456789abcdef';

export function randomHex(digits: i32): string {
  let v = nextU64();
  let s = '';
  for (let i = 0; i < digits && i < 16; i++) {
    s += HEX.charAt(<i32>(v & 15));
    v >>= 4;
  }
  return s;
}

// mulberry32: a small seeded generator of unsigned 32-bit integers, for the fixtures that run as plain
// Node scripts (test/helpers/random.ts is the same generator for the TypeScript suites).
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

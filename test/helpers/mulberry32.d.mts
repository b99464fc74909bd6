/** A seeded generator (mulberry32) of unsigned 32-bit integers. */
export function mulberry32(seed: number): () => number;

// Seeded randomness for tests: the same inputs on every run, so failures reproduce.

/** A small seeded generator (mulberry32) of unsigned 32-bit integers; shared with the plain-Node fixtures. */
export { mulberry32 as rng } from './mulberry32.mjs';

// Deterministic pseudo-random numbers and text, so every server gets the same load.

/** mulberry32: a tiny seeded generator returning floats in [0, 1). */
export const seeded = (seed) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const WORDS = ('note draft edit sync merge text line word shared cursor room peer offline ' +
  'update state vector struct delete insert commit table list item heading paragraph').split(' ')

/** About `length` characters of words and line breaks (exactly `length`, ASCII). */
export const prose = (length, rng) => {
  const parts = []
  let size = 0
  while (size < length) {
    const word = WORDS[Math.floor(rng() * WORDS.length)]
    const sep = rng() < 0.08 ? '\n' : ' '
    parts.push(word, sep)
    size += word.length + 1
  }
  return parts.join('').slice(0, length)
}

/** The number of structs (items and GC'd ranges) in a document's store. */
export const structCount = (doc) => {
  let n = 0
  for (const structs of doc.store.clients.values()) n += structs.length
  return n
}

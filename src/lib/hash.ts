/**
 * A fast, synchronous, non-cryptographic content hash (two 53-bit lanes of cyrb53).
 * It decides "has this item changed?", never anything security-related; WebCrypto's
 * digest would be async and slower for thousands of small items per push.
 */
const SEED_A = 0x9e3779b9;
const SEED_B = 0x85ebca6b;

export function contentHash(text: string): string {
  // Both lanes in one pass over the text (the loop, not the arithmetic, is the cost).
  let a1 = 0xdeadbeef ^ SEED_A;
  let a2 = 0x41c6ce57 ^ SEED_A;
  let b1 = 0xdeadbeef ^ SEED_B;
  let b2 = 0x41c6ce57 ^ SEED_B;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    a1 = Math.imul(a1 ^ ch, 2654435761);
    a2 = Math.imul(a2 ^ ch, 1597334677);
    b1 = Math.imul(b1 ^ ch, 2654435761);
    b2 = Math.imul(b2 ^ ch, 1597334677);
  }
  return base36(finish(a1, a2)) + "." + base36(finish(b1, b2));
}

const B5 = 36 ** 5;

/**
 * `n.toString(36)` for an integer below 2^53, without V8's slow path for large doubles:
 * two small integers (fast to print), the low one padded to five digits.
 */
function base36(n: number): string {
  if (n < 2 ** 31) return n.toString(36);
  const low = n % B5;
  return ((n - low) / B5).toString(36) + (low + B5).toString(36).slice(1);
}

function finish(h1: number, h2: number): number {
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * A fast, synchronous, non-cryptographic content hash (two 53-bit lanes of cyrb53).
 * It decides "has this item changed?", never anything security-related; WebCrypto's
 * digest would be async and slower for thousands of small items per push.
 */
export function contentHash(text: string): string {
  return lane(text, 0x9e3779b9).toString(36) + "." + lane(text, 0x85ebca6b).toString(36);
}

function lane(text: string, seed: number): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

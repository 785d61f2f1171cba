import { createHash, timingSafeEqual } from 'node:crypto';

/** Bearer-key check in constant time (hashes first, so lengths leak nothing either). */
export function bearerMatches(header: string | undefined, key: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  const given = createHash('sha256').update(m ? m[1]!.trim() : '').digest();
  const want = createHash('sha256').update(key).digest();
  return timingSafeEqual(given, want) && m !== null;
}

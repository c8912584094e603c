/**
 * Subject tokens. A NATS subject token may not contain whitespace, `.`, `*` or `>`, and source
 * and entity names may hold anything, so every token is encoded by one reversible rule:
 *
 * - `A-Z a-z 0-9 _ -` stay as they are;
 * - every other character becomes `~` followed by the upper-case hex of its UTF-8 bytes, two
 *   digits per byte (`Order Line` → `Order~20Line`, `a.b` → `a~2Eb`, `é` → `~C3~A9`);
 * - the empty string becomes `~`.
 *
 * The mapping is injective (`~` itself is encoded as `~7E`), so two names never share a subject.
 */
export function encodeToken(value: string): string {
  if (value === '') return '~';
  let out = '';
  for (const ch of value) {
    if (/^[A-Za-z0-9_-]$/.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `~${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The inverse of {@link encodeToken}. */
export function decodeToken(token: string): string {
  if (token === '~') return '';
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === '~') {
      bytes.push(Number.parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(token.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** `<subjectPrefix>.<source>.<entity>.<kind>`, each name encoded by {@link encodeToken}. */
export function eventSubject(prefix: string, source: string, entity: string, kind: string): string {
  return `${prefix}.${encodeToken(source)}.${encodeToken(entity)}.${encodeToken(kind)}`;
}

/** A subject prefix: dot-separated tokens, none empty, no whitespace or wildcards. */
export const SUBJECT_PREFIX = /^[^\s.*>]+(\.[^\s.*>]+)*$/;
/** Stream and durable names. */
export const NAME = /^[A-Za-z0-9_-]{1,200}$/;

/**
 * Index names. The contract allows 1-64 chars of `[A-Za-z0-9_-]` on every engine; Elasticsearch
 * refuses upper case and a leading `_` or `-`. Names that already suit Elasticsearch are used
 * unchanged (so indexes made by other tools keep their names); in any other name each upper-case
 * letter `X` is stored as `~x` and a leading `_`/`-` gets a `~` in front. `~` never appears in a
 * portable name, so the mapping is one-to-one and hits/aliases decode back to what the caller used.
 */
export function engineIndexName(index: string): string {
  let out = index.replace(/[A-Z]/g, (c) => `~${c.toLowerCase()}`);
  if (/^[-_]/.test(out)) out = `~${out}`;
  return out;
}

/** The portable name of an Elasticsearch index or alias name (inverse of {@link engineIndexName}). */
export function portableIndexName(name: string): string {
  if (!name.includes('~')) return name;
  return name.replace(/^~(?=[-_])/, '').replace(/~([a-z])/g, (_, c: string) => c.toUpperCase());
}

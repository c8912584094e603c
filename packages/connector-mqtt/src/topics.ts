/** A subscription filter is valid MQTT: `+` and `#` only as whole levels, `#` only last. */
export function validFilter(filter: string): boolean {
  if (filter.length === 0 || filter.includes('\u0000') || Buffer.byteLength(filter) > 65_535) return false;
  const levels = filter.split('/');
  return levels.every(
    (l, i) => (!l.includes('+') || l === '+') && (!l.includes('#') || (l === '#' && i === levels.length - 1)),
  );
}

/** A publish topic is valid MQTT: non-empty, no wildcards. */
export function validTopic(topic: string): boolean {
  return (
    topic.length > 0 &&
    !topic.includes('+') &&
    !topic.includes('#') &&
    !topic.includes('\u0000') &&
    Buffer.byteLength(topic) <= 65_535
  );
}

/**
 * Whether `topic` matches `filter` (MQTT 3.1.1 §4.7): `+` one level, `#` this level and all below
 * (the parent too); topics starting with `$` never match a leading wildcard. A shared
 * subscription `$share/<group>/<filter>` matches like `<filter>`.
 */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.startsWith('$share/') ? filter.split('/').slice(2) : filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

import { getField } from '@fraiseql/core';
import type { EntityEvent } from './types';

const PLACEHOLDER = /\{([^{}]*)\}/g;
const DATA_PATH = /^data\.[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const FIXED = new Set(['entity', 'entity_id', 'kind', 'id']);

/** The placeholders of `template` that are not `{entity}`, `{entity_id}`, `{kind}`, `{id}` or `{data.<path>}`. */
export function unknownPlaceholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)]
    .map((m) => m[1] as string)
    .filter((name) => !FIXED.has(name) && !DATA_PATH.test(name));
}

function value(event: EntityEvent, name: string): string {
  switch (name) {
    case 'entity':
      return event.entity;
    case 'entity_id':
      return event.entityId;
    case 'kind':
      return event.kind;
    case 'id':
      return event.id;
    default: {
      const data = event.data;
      if (data === null || typeof data !== 'object') return '';
      const v = getField(data as Record<string, unknown>, name.slice('data.'.length));
      if (v === undefined || v === null) return '';
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
    }
  }
}

/** Fills a template: values as they are for keys and headers, URL-encoded for URLs. */
export function renderTemplate(template: string, event: EntityEvent, mode: 'raw' | 'url' = 'raw'): string {
  if (!template.includes('{')) return template;
  return template.replace(PLACEHOLDER, (_, name: string) => {
    const v = value(event, name);
    return mode === 'url' ? encodeURIComponent(v) : v;
  });
}

import type { Client } from '@elastic/elasticsearch';
import {
  assertIndexName,
  ErrorCode,
  type IndexConfig,
  IntegrationError,
  type SearchAliases,
} from '@fraiseql/core';
import { type CallKind, PROVIDER } from './errors';
import { engineMappings } from './mapping';
import { engineIndexName, portableIndexName } from './names';

type Call = <R>(
  context: string,
  index: string | undefined,
  kind: CallKind,
  run: () => Promise<R>,
) => Promise<R>;

/**
 * The `aliases` capability (DESIGN §14.3) on Elasticsearch aliases. A live name starts as a plain
 * index (`configureIndex`); the first `swapIndex` turns it into an alias: one `_aliases` request
 * deletes the old index (`remove_index`) and adds the alias with its name to the rebuilt index —
 * Elasticsearch applies the actions of one request atomically, so a search sees the old
 * documents or the new ones, never an error. Later swaps move the alias the same way.
 *
 * Elasticsearch cannot rename an index: after a swap the rebuilt index keeps its concrete name
 * (`products__1733300000000`) behind the alias; searches and writes use the live name.
 */
export class ElasticsearchAliases implements SearchAliases {
  constructor(
    private readonly client: Client,
    private readonly call: Call,
    /** Forgets what the provider cached about an index (its mapping changes with a swap). */
    private readonly forget: (index: string) => void,
  ) {}

  /** The indexes `alias` points to, by portable name (empty when it is not an alias). */
  async indicesOf(alias: string): Promise<string[]> {
    assertIndexName(alias);
    const res = (await this.call('reading an alias', alias, 'admin', () =>
      this.client.indices.getAlias({ name: engineIndexName(alias) }, { ignore: [404] }),
    )) as unknown as Record<string, unknown>;
    return Object.entries(res)
      .filter(([, v]) => v !== null && typeof v === 'object' && 'aliases' in v)
      .map(([k]) => portableIndexName(k))
      .sort();
  }

  async prepareIndex(live: string, next: string, config?: IndexConfig): Promise<void> {
    assertIndexName(live);
    assertIndexName(next);
    let mappings: Record<string, unknown> = engineMappings(config);
    if (!config) {
      // The settings live has now: its whole mapping (fields, dynamic templates, _meta).
      const res = (await this.call('reading the mapping', live, 'admin', () =>
        this.client.indices.getMapping({ index: engineIndexName(live) }, { ignore: [404] }),
      )) as unknown as Record<string, { mappings?: Record<string, unknown> }>;
      const current = Object.values(res).find((v) => v && typeof v === 'object' && v.mappings)?.mappings;
      if (current) mappings = current;
    }
    await this.call('creating the rebuilt index', next, 'admin', async () => {
      if (await this.client.indices.exists({ index: engineIndexName(next) })) {
        throw new IntegrationError(
          ErrorCode.IndexAlreadyExists,
          `[${PROVIDER}] index "${next}" exists already`,
          {
            provider: PROVIDER,
            resourceType: 'index',
          },
        );
      }
      await this.client.indices.create({ index: engineIndexName(next), mappings: mappings as never });
    });
  }

  async swapIndex(live: string, next: string): Promise<void> {
    assertIndexName(live);
    assertIndexName(next);
    const target = engineIndexName(next);
    const name = engineIndexName(live);
    const behind = (await this.indicesOf(live)).filter((i) => i !== next).map(engineIndexName);
    const plain =
      behind.length === 0 &&
      (await this.call('reading the index', live, 'admin', () =>
        this.client.indices.exists({ index: name }),
      ));
    const removed = plain ? [name] : behind;
    await this.call('swapping the index', live, 'admin', () =>
      this.client.indices.updateAliases({
        actions: [
          ...removed.map((index) => ({ remove_index: { index } })),
          { add: { index: target, alias: name } },
        ],
      }),
    );
    this.forget(live);
    this.forget(next);
  }

  async dropIndex(name: string): Promise<void> {
    assertIndexName(name);
    this.forget(name);
    await this.call('dropping the index', name, 'admin', () =>
      this.client.indices.delete({ index: engineIndexName(name) }, { ignore: [404] }),
    );
  }
}

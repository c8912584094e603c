import type { Client } from '@elastic/elasticsearch';
import { assertIndexName } from '@fraiseql/core';
import type { CallKind } from './errors';
import { engineIndexName, portableIndexName } from './names';

type Call = <R>(
  context: string,
  index: string | undefined,
  kind: CallKind,
  run: () => Promise<R>,
) => Promise<R>;

/**
 * The `aliases` capability: what a zero-downtime reindex needs — read which indexes an alias
 * points to, and move it in one atomic `_aliases` request (searches never see zero or two
 * indexes behind the name). Names are portable index names (encoded like every other name).
 */
export class AliasOps {
  constructor(
    private readonly client: Client,
    private readonly call: Call,
  ) {}

  /** The indexes `alias` points to (empty when it does not exist). */
  async get(alias: string): Promise<string[]> {
    assertIndexName(alias);
    const res = (await this.call('reading an alias', alias, 'admin', () =>
      this.client.indices.getAlias({ name: engineIndexName(alias) }, { ignore: [404] }),
    )) as unknown as Record<string, { aliases?: Record<string, unknown> }>;
    return Object.entries(res)
      .filter(([, v]) => v && typeof v === 'object' && v.aliases)
      .map(([k]) => portableIndexName(k))
      .sort();
  }

  /**
   * Points `alias` at `index` only, atomically: removes it from every index it points to now and
   * adds it to `index` in one request. With `dropOld`, the indexes it pointed to are deleted in
   * the same request.
   */
  async swap(
    alias: string,
    index: string,
    opts: { dropOld?: boolean } = {},
  ): Promise<{ previous: string[] }> {
    assertIndexName(alias);
    assertIndexName(index);
    const previous = (await this.get(alias)).filter((i) => i !== index);
    const actions: Record<string, unknown>[] = previous.map((i) =>
      opts.dropOld
        ? { remove_index: { index: engineIndexName(i) } }
        : { remove: { index: engineIndexName(i), alias: engineIndexName(alias) } },
    );
    actions.push({ add: { index: engineIndexName(index), alias: engineIndexName(alias) } });
    await this.call('switching an alias', index, 'admin', () =>
      this.client.indices.updateAliases({ actions: actions as never }),
    );
    return { previous };
  }

  /** Removes `alias` from `index`; resolves when it was not there. */
  async remove(alias: string, index: string): Promise<void> {
    assertIndexName(alias);
    assertIndexName(index);
    await this.call('removing an alias', index, 'admin', () =>
      this.client.indices.updateAliases({
        actions: [
          { remove: { index: engineIndexName(index), alias: engineIndexName(alias), must_exist: false } },
        ],
      }),
    );
  }
}

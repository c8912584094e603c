import {
  assertIndexName,
  ErrorCode,
  type IndexConfig,
  IntegrationError,
  type SearchAliases,
} from '@fraiseql/core';
import type { Client } from 'typesense';
import { type ErrorContext, httpStatusOf, PROVIDER } from './errors';

/** What the aliases need of their provider. */
export interface TypesenseAliasesHost {
  client: Client;
  open(): void;
  call<T>(ctx: ErrorContext, run: () => Promise<T>): Promise<T>;
  mapError(err: unknown, ctx: ErrorContext): IntegrationError;
  configureIndex(index: string, config: IndexConfig): Promise<void>;
  dropIndex(index: string): Promise<void>;
  /** Moves what the provider cached about `from` (settings, schema) to `to`. */
  moveCaches(from: string, to: string): void;
}

// Schema keys a created collection takes back (the rest of GET /collections/:name is state).
const SCHEMA_KEYS = [
  'fields',
  'default_sorting_field',
  'enable_nested_fields',
  'token_separators',
  'symbols_to_index',
];

/**
 * The `aliases` capability of the Typesense provider (DESIGN §14.3): after a reindex the live
 * name is a collection alias (`PUT /aliases/<index>`) pointing at `<index>__<ts>`; every route of
 * the provider goes through the alias. The switch is the alias upsert, atomic in Typesense. The
 * first reindex of a plain collection puts the alias in place first (a real collection wins over
 * an alias of the same name) and then drops the collection, so the name never resolves to nothing.
 */
export class TypesenseAliases implements SearchAliases {
  readonly #h: TypesenseAliasesHost;

  constructor(host: TypesenseAliasesHost) {
    this.#h = host;
  }

  async #retrieve(name: string): Promise<Record<string, unknown> | undefined> {
    try {
      return (await this.#h.client.collections(name).retrieve()) as unknown as Record<string, unknown>;
    } catch (err) {
      if (httpStatusOf(err) === 404) return undefined;
      throw this.#h.mapError(err, { kind: 'admin', what: `reading "${name}"`, index: name });
    }
  }

  /** The collection an alias points at, or undefined when `name` is no alias. */
  async #aliasTarget(name: string): Promise<string | undefined> {
    try {
      return (await this.#h.client.aliases(name).retrieve()).collection_name;
    } catch (err) {
      if (httpStatusOf(err) === 404) return undefined;
      throw this.#h.mapError(err, { kind: 'admin', what: `reading the alias "${name}"` });
    }
  }

  async prepareIndex(live: string, next: string, config?: IndexConfig): Promise<void> {
    this.#h.open();
    assertIndexName(live);
    assertIndexName(next);
    if (await this.#retrieve(next)) {
      throw new IntegrationError(
        ErrorCode.IndexAlreadyExists,
        `[${PROVIDER}] index "${next}" already exists`,
        {
          resourceType: 'index',
        },
      );
    }
    if (config !== undefined) return this.#h.configureIndex(next, config);
    const current = await this.#retrieve(live);
    if (!current) {
      throw new IntegrationError(
        ErrorCode.IndexNotFound,
        `[${PROVIDER}] index "${live}" does not exist: pass the settings of the new index (config)`,
        { resourceType: 'index' },
      );
    }
    // The live schema as is (the user's collection options included), under the new name.
    const schema: Record<string, unknown> = { name: next };
    for (const key of SCHEMA_KEYS) if (current[key] !== undefined) schema[key] = current[key];
    if (schema.default_sorting_field === '') delete schema.default_sorting_field;
    await this.#h.call({ kind: 'admin', what: `creating "${next}"`, index: next }, () =>
      this.#h.client.collections().create(schema as never),
    );
  }

  async swapIndex(live: string, next: string): Promise<void> {
    this.#h.open();
    assertIndexName(live);
    assertIndexName(next);
    if (!(await this.#retrieve(next))) throw IntegrationError.indexNotFound(next);
    const previous = await this.#aliasTarget(live);
    // A plain collection named like the alias: it keeps serving until it is dropped below.
    const plain = previous === undefined ? (await this.#retrieve(live))?.name : undefined;
    await this.#h.call(
      { kind: 'admin', what: `pointing the alias "${live}" at "${next}"`, index: live },
      () => this.#h.client.aliases().upsert(live, { collection_name: next }),
    );
    this.#h.moveCaches(next, live);
    const old = previous ?? (plain === live ? live : undefined);
    if (old !== undefined && old !== next) await this.#dropCollection(old);
  }

  async #dropCollection(name: string): Promise<void> {
    try {
      await this.#h.client.collections(name).delete();
    } catch (err) {
      if (httpStatusOf(err) !== 404) {
        throw this.#h.mapError(err, { kind: 'admin', what: `dropping "${name}"` });
      }
    }
  }

  async dropIndex(name: string): Promise<void> {
    await this.#h.dropIndex(name);
  }
}

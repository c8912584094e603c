import { FakeHttpError } from './fake-typesense-schema';

/**
 * Collection aliases of the Typesense protocol double (`/aliases`): an alias name → a collection
 * name. As in Typesense (`CollectionManager::get_collection`), a real collection's name takes
 * precedence over an alias of the same name, so an alias can be put in place before the
 * collection it replaces is dropped.
 */
export class FakeTypesenseAliases {
  readonly #aliases = new Map<string, string>();

  /** The collection name a request's `:name` designates (the name itself when no alias matches). */
  resolve(name: string, isCollection: (n: string) => boolean): string {
    if (isCollection(name)) return name;
    return this.#aliases.get(name) ?? name;
  }

  /** `GET /aliases`, `GET|PUT|DELETE /aliases/:name`; returns the status and body. */
  route(method: string, parts: string[], body: () => unknown): { status: number; body: unknown } {
    const json = (name: string) => ({ name, collection_name: this.#aliases.get(name)! });
    if (parts.length === 1) {
      if (method !== 'GET') throw new FakeHttpError(405, 'Method Not Allowed');
      return { status: 200, body: { aliases: [...this.#aliases.keys()].map(json) } };
    }
    if (parts.length !== 2) throw new FakeHttpError(404, 'Not Found');
    const name = parts[1]!;
    if (method === 'PUT') {
      const b = body() as Record<string, unknown> | null;
      if (!b || typeof b.collection_name !== 'string' || b.collection_name === '') {
        throw new FakeHttpError(400, 'Parameter `collection_name` is required.');
      }
      this.#aliases.set(name, b.collection_name);
      return { status: 200, body: json(name) };
    }
    if (!this.#aliases.has(name)) throw new FakeHttpError(404, 'Not Found');
    const found = json(name);
    if (method === 'GET') return { status: 200, body: found };
    if (method === 'DELETE') {
      this.#aliases.delete(name);
      return { status: 200, body: found };
    }
    throw new FakeHttpError(405, 'Method Not Allowed');
  }
}

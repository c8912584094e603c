import { expect, it } from 'vitest';
import type { SearchTopicContext } from './context';

/** SearchProvider contract, name, health check and close. Registers its tests in the caller's `describe`. */
export function searchProviderTests({ factory, p }: SearchTopicContext): void {
  it('has a name and reports healthy', async () => {
    expect(typeof p().name).toBe('string');
    expect(p().name.length).toBeGreaterThan(0);
    expect(await p().healthCheck()).toBe(true);
  });

  it('close() is idempotent', async () => {
    const own = await factory();
    await own.close();
    await expect(own.close()).resolves.toBeUndefined();
  });
}

import { expect, it } from 'vitest';
import { type CatalogueContext, orderedIds, stripMarks } from './context';

/** SearchProvider contract, highlighting. Registers its tests in the caller's `describe`. */
export function searchHighlightTests({ search }: CatalogueContext): void {
  it('wrap the matched words of the requested fields in <mark>…</mark>', async () => {
    const r = await search({ query: 'espresso', highlight: ['name', 'description'] });
    expect(orderedIds(r)).toEqual(['p01']);
    const h = r.hits[0]!.highlights;
    expect(h).toBeDefined();
    expect(h!.name).toMatch(/<mark>espresso<\/mark>/i);
    expect(stripMarks(h!.name!)).toBe('Espresso Machine');
    expect(h!.name!.match(/<mark>/g)).toHaveLength(1);
    expect(h!.description).toMatch(/<mark>espresso<\/mark>/i);
    expect(h!.description).not.toMatch(/<mark>[^<]*coffee/i);
  });

  it('highlight the words of a multi-word query wherever they occur', async () => {
    const r = await search({ query: 'coffee mug', highlight: ['name', 'description'] });
    expect(orderedIds(r)).toEqual(['p02']);
    const h = r.hits[0]!.highlights!;
    expect(h.name).toMatch(/<mark>mug<\/mark>/i);
    expect(h.description).toMatch(/<mark>coffee<\/mark>/i);
  });

  it('mark a non-ASCII word as one word', async () => {
    const r = await search({ query: 'brûlée', highlight: ['name'] });
    expect(orderedIds(r)).toEqual(['p09']);
    const name = r.hits[0]!.highlights!.name!;
    expect(name).toMatch(/<mark>brûlée<\/mark>/i);
    expect(stripMarks(name)).toBe('Crème Brûlée Torch');
  });
}

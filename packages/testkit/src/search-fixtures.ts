import type { Document, IndexConfig } from '@fraiseql/core';

/**
 * The product catalogue every search conformance test indexes.
 *
 * Chosen so the same assertions hold on Postgres FTS, Meilisearch, Typesense and Algolia:
 * - the words the suite queries (`espresso`, `coffee`, `keyboard`, `guide`, `ceramic`, `mug`,
 *   `headph…`, `brûlée`) are several edits away from every other token, so typo tolerance cannot
 *   pull in extra documents, and they stem to themselves (or a common stem) under Postgres `english`;
 * - every price is a multiple of 0.25 (exact in float32, which Typesense uses) and distinct,
 *   so sorting by price is a total order;
 * - categories are lower-case ASCII, so collation differences cannot reorder them;
 * - `p10` has no `category` (for `neq`/`nin`/`exists`); `brand` carries quotes, colons, backticks,
 *   backslashes, boolean operators and non-ASCII, the values engines must escape;
 * - ids are `[a-z0-9]`, valid as a document id on every engine.
 */
export interface CatalogueProduct extends Record<string, unknown> {
  name: string;
  description: string;
  category?: string;
  brand: string;
  price: number;
  tags: string[];
  in_stock: boolean;
  /** Epoch milliseconds: dates are stored and filtered as numbers on every engine. */
  released_at: number;
}

/** A brand with both quote styles, a colon and backticks — the classic filter-escaping trap. */
export const TRICKY_BRAND = 'O\'Reilly "quoted": `tick`';
/** A prefix of {@link TRICKY_BRAND}: an exact `eq` on one must never match the other. */
export const PLAIN_BRAND = "O'Reilly";
/** Boolean operators, brackets and backslashes (Typesense/Meilisearch/Algolia filter syntax). */
export const OPERATOR_BRAND = '[a, b] && (c || d) OR x = "y" \\ back\\slash\\';
export const UNICODE_BRAND = 'Café Münster ☕';

const day = (iso: string): number => Date.parse(`${iso}T00:00:00.000Z`);

/** id → data. Expected results in the suite are written out by hand against this table. */
export const PRODUCT_CATALOGUE: Readonly<Record<string, Readonly<CatalogueProduct>>> = {
  p01: {
    name: 'Espresso Machine',
    description: 'Brews rich espresso coffee at home',
    category: 'kitchen',
    brand: 'Brava',
    price: 199.5,
    tags: ['coffee', 'appliance'],
    in_stock: true,
    released_at: day('2023-01-15'),
  },
  p02: {
    name: 'Ceramic Mug',
    description: 'Holds coffee or tea, dishwasher safe',
    category: 'kitchen',
    brand: 'Brava',
    price: 12.5,
    tags: ['coffee', 'ceramic'],
    in_stock: true,
    released_at: day('2022-06-01'),
  },
  p03: {
    name: 'Trail Running Shoes',
    description: 'Lightweight shoes with a grippy sole',
    category: 'sports',
    brand: 'Stride',
    price: 89.75,
    tags: ['running', 'outdoor'],
    in_stock: false,
    released_at: day('2023-03-10'),
  },
  p04: {
    name: 'Yoga Mat',
    description: 'Non-slip mat for yoga and pilates',
    category: 'sports',
    brand: 'Stride',
    price: 25.5,
    tags: ['fitness'],
    in_stock: true,
    released_at: day('2021-11-20'),
  },
  p05: {
    name: 'Mechanical Keyboard',
    description: 'Tactile switches for fast typing',
    category: 'electronics',
    brand: 'Clack',
    price: 149.25,
    tags: ['computer', 'typing'],
    in_stock: true,
    released_at: day('2024-02-01'),
  },
  p06: {
    name: 'Noise Cancelling Headphones',
    description: 'Quiet flights and focused work',
    category: 'electronics',
    brand: 'Clack',
    price: 299.75,
    tags: ['audio', 'travel'],
    in_stock: false,
    released_at: day('2023-09-05'),
  },
  p07: {
    name: 'Programming Handbook',
    description: 'A practical guide with notes: "quoted" and `ticked`',
    category: 'books',
    brand: TRICKY_BRAND,
    price: 39.5,
    tags: ['reference'],
    in_stock: true,
    released_at: day('2020-05-05'),
  },
  p08: {
    name: 'Pocket Guide',
    description: 'The short edition',
    category: 'books',
    brand: PLAIN_BRAND,
    price: 9.25,
    tags: ['reference', 'travel'],
    in_stock: true,
    released_at: day('2019-08-08'),
  },
  p09: {
    name: 'Crème Brûlée Torch',
    description: 'Caramelises sugar for desserts and flan',
    category: 'kitchen',
    brand: UNICODE_BRAND,
    price: 34.25,
    tags: ['dessert', 'appliance'],
    in_stock: false,
    released_at: day('2022-12-24'),
  },
  p10: {
    name: 'Gift Card',
    description: 'Redeemable for anything in the store',
    brand: OPERATOR_BRAND,
    price: 50.25,
    tags: ['gift'],
    in_stock: true,
    released_at: day('2024-06-30'),
  },
};

/** Every catalogue id, in table order. */
export const CATALOGUE_IDS: readonly string[] = Object.keys(PRODUCT_CATALOGUE);

/** The index settings the suite applies before indexing the catalogue. */
export const CATALOGUE_INDEX_CONFIG: Readonly<IndexConfig> = {
  searchable: ['name', 'description'],
  filterable: ['category', 'brand', 'price', 'tags', 'in_stock', 'released_at'],
  sortable: ['price', 'released_at', 'category'],
};

/** The catalogue as documents of `index` (fresh copies, safe to mutate). */
export function catalogueDocuments(index: string): Document[] {
  return Object.entries(PRODUCT_CATALOGUE).map(([id, data]) => ({ id, index, data: structuredClone(data) }));
}

/** `n` plain documents `d001…` with `name: "Item n"` and `rank: n`, for limit/pagination tests. */
export function numberedDocuments(index: string, n: number): Document[] {
  return Array.from({ length: n }, (_, i) => {
    const id = `d${String(i + 1).padStart(3, '0')}`;
    return { id, index, data: { name: `Item ${i + 1}`, rank: i + 1 } };
  });
}

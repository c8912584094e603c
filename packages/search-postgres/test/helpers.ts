/** A Postgres rawFilter (SQL/JSON path predicate) over the catalogue and the ids it selects. */
export const RAW_FILTER = { filter: '$.category == "kitchen"', ids: ['p01', 'p02', 'p09'] };

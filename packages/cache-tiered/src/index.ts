export type { BusSqlClient } from './bus-postgres';
export { createTieredCache } from './factory';
export type { BusEvent, TieredBusOption, TieredCacheOptions } from './options';
export { TieredCache, type TieredHealth } from './tiered';

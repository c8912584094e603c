import type { RouteSpec } from './route';
import { CACHE_ROUTES } from './routes/cache';
import { FLOW_ROUTES } from './routes/flows';
import { SYSTEM_ROUTES } from './routes/health';
import { OBSERVER_ROUTES } from './routes/observers';
import { QUEUE_ROUTES } from './routes/queue';
import { REINDEX_ROUTES } from './routes/reindex';
import { SCHEDULE_ROUTES } from './routes/schedules';
import { SEARCH_ROUTES } from './routes/search';

/** Every route of the server, one file per resource under `routes/`. */
export const ROUTES: readonly RouteSpec[] = [
  ...SYSTEM_ROUTES,
  ...SEARCH_ROUTES,
  ...REINDEX_ROUTES,
  ...CACHE_ROUTES,
  ...QUEUE_ROUTES,
  ...OBSERVER_ROUTES,
  ...FLOW_ROUTES,
  ...SCHEDULE_ROUTES,
];

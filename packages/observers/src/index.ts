export { eventJson, signWebhook, webhookBody } from './actions/webhook';
export {
  type ChangeCaptureOptions,
  DEFAULT_CHANGE_LOG,
  ensureChangeLog,
  installChangeCapture,
  removeChangeCapture,
} from './change-log';
export { compileObservers, observerMatches, parseKind } from './definitions';
export { canonicalJson, dedupKey } from './executor/deduped';
export { type ObserversFromConfigDeps, observersFromConfig } from './from-config';
export { observerMetrics } from './metrics';
export { createObserverRuntime } from './runtime';
export { renderTemplate } from './templates';
export type * from './types';

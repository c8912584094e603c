export { ElasticsearchAliases } from './aliases';
export {
  AUDIT_MAPPINGS,
  type AuditTemplateOptions,
  type AuditTemplateResult,
  auditIndexFor,
  ensureAuditTemplate,
} from './audit';
export { createElasticsearchSearch } from './create';
export { engineMappings } from './mapping';
export { engineIndexName, portableIndexName } from './names';
export type { ElasticsearchSearchOptions } from './options';
export type { ElasticsearchSearch, ElasticsearchSearch as ElasticsearchSearchProvider } from './provider';

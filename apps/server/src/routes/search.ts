import {
  type BulkResult,
  type Document,
  ErrorCode,
  type IndexConfig,
  type SearchQuery,
} from '@fraiseql/core';
import { truncate } from '../errors';
import type { RouteSpec } from '../route';
import { BULK_RESULT, DOCUMENTS_BODY, SEARCH_BODY, SEARCH_RESULT, SETTINGS_BODY } from '../schemas';
import { PARAMS } from '../validation';
import { COMMON_ERRORS, call, error, timed } from './common';

function toDocuments(
  index: string,
  items: Record<string, unknown>[],
  primaryKey: string,
): { docs: Document[]; failed: BulkResult['failed'] } {
  const docs: Document[] = [];
  const failed: BulkResult['failed'] = [];
  items.forEach((data, position) => {
    const raw = data[primaryKey];
    let id: string | undefined;
    if (typeof raw === 'string' && raw.length > 0 && raw.length <= 512) id = raw;
    else if (typeof raw === 'number' && Number.isSafeInteger(raw)) id = String(raw);
    if (id === undefined) {
      // Reported like an engine reports a bad document: the others are still indexed.
      const got =
        raw === undefined ? 'it is missing' : `got ${truncate(JSON.stringify(raw) ?? String(raw), 60)}`;
      failed.push({
        id: typeof raw === 'string' ? raw : raw === undefined ? '' : String(raw),
        reason: `Document at position ${position}: primary key "${primaryKey}" must be a non-empty string (at most 512 characters) or an integer; ${got}`,
      });
    } else docs.push({ id, index, data });
  });
  return { docs, failed };
}

export const SEARCH_ROUTES: RouteSpec[] = [
  {
    method: 'POST',
    url: '/search/:index',
    operationId: 'search',
    summary: 'Search an index',
    description: 'The body is a SearchQuery without `index`; an empty or missing body browses the index.',
    tag: 'search',
    params: { index: PARAMS.index },
    body: {
      schema: SEARCH_BODY,
      contentTypes: ['application/json'],
      description: 'SearchQuery without index',
      code: ErrorCode.InvalidSearchQuery,
      whenMissing: {},
    },
    familyCode: ErrorCode.InvalidSearchQuery,
    responses: { 200: { description: 'Search result', schema: SEARCH_RESULT }, ...COMMON_ERRORS },
    async handler(ctx, req, _reply, { params }) {
      const body = req.body as Omit<SearchQuery, 'index'>;
      const q = { ...body, query: body.query ?? '' };
      const index = params.index!;
      return call(
        ctx,
        ctx.search(),
        ctx.service.searchProvider,
        'search_query',
        () => ctx.service.search(index, q),
        (p) => p.search({ ...q, index }),
      );
    },
  },
  {
    method: 'PUT',
    url: '/search/:index/documents',
    operationId: 'indexDocuments',
    summary: 'Add or replace documents',
    description:
      'A JSON array of plain documents, each carrying its primary key (`id` unless the index settings say otherwise, or `?primary_key=`). 200 when every document was indexed, 207 with the same BulkResult when some failed (each with its reason).',
    tag: 'search',
    params: { index: PARAMS.index },
    query: [
      {
        name: 'primary_key',
        type: 'string',
        maxLength: 255,
        description: 'Field holding each document id. Default: the index settings, else "id"',
      },
    ],
    queryCode: ErrorCode.InvalidDocument,
    body: {
      schema: DOCUMENTS_BODY,
      contentTypes: ['application/json'],
      description: 'Array of documents',
      code: ErrorCode.InvalidDocument,
      limit: 'documents',
    },
    familyCode: ErrorCode.InvalidDocument,
    responses: {
      200: { description: 'Every document was indexed', schema: BULK_RESULT },
      207: { description: 'Some documents failed; `failed` says which and why', schema: BULK_RESULT },
      413: error('Body over the documents limit (IN107)'),
      ...COMMON_ERRORS,
    },
    async handler(ctx, req, reply, { params, query }) {
      const provider = ctx.search();
      const index = params.index!;
      const primaryKey = (query.primary_key as string | undefined) || ctx.primaryKeyOf(index);
      const { docs, failed } = toDocuments(index, req.body as Record<string, unknown>[], primaryKey);
      const result: BulkResult =
        docs.length > 0
          ? await timed(ctx, 'search_index', provider, () => provider.indexDocuments(docs))
          : { succeeded: 0, failed: [] };
      const all: BulkResult = { succeeded: result.succeeded, failed: [...failed, ...result.failed] };
      reply.code(all.failed.length > 0 ? 207 : 200);
      return all;
    },
  },
  {
    method: 'DELETE',
    url: '/search/:index/documents/:id',
    operationId: 'deleteDocument',
    summary: 'Delete one document (idempotent)',
    tag: 'search',
    params: { index: PARAMS.index, id: PARAMS.documentId },
    familyCode: ErrorCode.InvalidDocument,
    responses: { 204: { description: 'Deleted, or was not there' }, ...COMMON_ERRORS },
    async handler(ctx, _req, reply, { params }) {
      const provider = ctx.search();
      await timed(ctx, 'search_index', provider, () => provider.deleteDocument(params.index!, params.id!));
      reply.code(204);
    },
  },
  {
    method: 'DELETE',
    url: '/search/:index/documents',
    operationId: 'clearIndex',
    summary: 'Delete every document of an index',
    tag: 'search',
    params: { index: PARAMS.index },
    familyCode: ErrorCode.InvalidSearchQuery,
    responses: { 204: { description: 'Cleared' }, ...COMMON_ERRORS },
    async handler(ctx, _req, reply, { params }) {
      const provider = ctx.search();
      await timed(ctx, 'search_index', provider, () => provider.clearIndex(params.index!));
      reply.code(204);
    },
  },
  {
    method: 'PUT',
    url: '/search/:index/settings',
    operationId: 'configureIndex',
    summary: 'Create or reconfigure an index',
    tag: 'search',
    params: { index: PARAMS.index },
    body: {
      schema: SETTINGS_BODY,
      contentTypes: ['application/json'],
      description: 'IndexConfig',
      code: ErrorCode.InvalidConfiguration,
    },
    familyCode: ErrorCode.InvalidConfiguration,
    responses: { 204: { description: 'Configured' }, ...COMMON_ERRORS },
    async handler(ctx, req, reply, { params }) {
      const provider = ctx.search();
      const config = req.body as IndexConfig;
      await timed(ctx, 'search_index', provider, () => provider.configureIndex(params.index!, config));
      if (config.primaryKey) ctx.setPrimaryKey(params.index!, config.primaryKey);
      reply.code(204);
    },
  },
];

import { describeDistSmoke } from '../../../tooling/dist-smoke.ts';

describeDistSmoke(new URL('..', import.meta.url), {
  expectExports: [
    'createSqlClient',
    'migrate',
    'assertIdentifier',
    'quoteIdent',
    'qualifiedName',
    'parseQualifiedName',
    'sqlState',
    'isUniqueViolation',
    'fromPgClient',
  ],
});

import { ErrorCode, IntegrationError } from './errors';

const bad = (message: string) =>
  IntegrationError.invalidInput(ErrorCode.InvalidConfiguration, `[reindex] ${message}`, 'sql');

/**
 * Checks that `text` is one read query (`SELECT`, `WITH … SELECT`, `VALUES`, `TABLE`) and returns
 * it without its trailing semicolon: a second statement (a `;` outside quotes and comments) or
 * another command is IN002. The query still runs in a READ ONLY transaction, which is what stops a
 * data-modifying CTE — this check only gives a clear message early.
 */
export function assertSingleSelect(text: unknown): string {
  if (typeof text !== 'string' || text.trim() === '') throw bad('the SQL source must be a non-empty SELECT');
  let end = text.length;
  let i = 0;
  let firstWord = '';
  while (i < text.length) {
    const c = text[i]!;
    const two = text.slice(i, i + 2);
    if (two === '--') {
      const nl = text.indexOf('\n', i);
      i = nl === -1 ? text.length : nl + 1;
    } else if (two === '/*') {
      const close = text.indexOf('*/', i + 2);
      if (close === -1) throw bad('unterminated /* comment in the SQL source');
      i = close + 2;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      for (;;) {
        j = text.indexOf(c, j);
        if (j === -1)
          throw bad(`unterminated ${c === "'" ? 'string' : 'quoted identifier'} in the SQL source`);
        if (text[j + 1] === c) j += 2;
        else break;
      }
      i = j + 1;
    } else if (c === '$' && /^\$[A-Za-z_]?[A-Za-z0-9_]*\$/.test(text.slice(i))) {
      const tag = /^\$[A-Za-z_]?[A-Za-z0-9_]*\$/.exec(text.slice(i))![0];
      const close = text.indexOf(tag, i + tag.length);
      if (close === -1) throw bad('unterminated dollar-quoted string in the SQL source');
      i = close + tag.length;
    } else if (c === ';') {
      if (text.slice(i + 1).replace(/--[^\n]*|\/\*[\s\S]*?\*\/|\s/g, '') !== '') {
        throw bad('the SQL source must be a single statement (found a second one after ";")');
      }
      end = i;
      break;
    } else {
      if (!firstWord && /[A-Za-z]/.test(c)) firstWord = /^[A-Za-z]+/.exec(text.slice(i))![0].toUpperCase();
      i++;
    }
  }
  if (!['SELECT', 'WITH', 'VALUES', 'TABLE'].includes(firstWord)) {
    throw bad(`the SQL source must be a SELECT query, not ${firstWord || 'empty'}`);
  }
  return text.slice(0, end).trim();
}

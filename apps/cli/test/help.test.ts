import { describe, expect, it } from 'vitest';
import pkg from '../package.json' with { type: 'json' };
import { main, observersMain } from '../src/index';

// Issue 21 item 7: every command's --help ends with an example, and --version prints the package version.

async function capture(
  run: (argv: string[], io: { out(t: string): void; err(t: string): void }) => Promise<number>,
  args: string[],
): Promise<{ code: number; out: string }> {
  const chunks: string[] = [];
  const code = await run(['node', 'cli', ...args], {
    out: (t) => chunks.push(t),
    err: (t) => chunks.push(t),
  });
  return { code, out: chunks.join('') };
}

/** Sub-command names listed in a help text's "Commands:" section (without `help`). */
function subcommands(help: string): string[] {
  const section = help.split(/\nCommands:\n/)[1];
  if (!section) return [];
  return section
    .split('\n\n')[0]!
    .split('\n')
    .map((l) => /^ {2}([a-z][a-z-]*)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined && n !== 'help');
}

for (const [name, run] of [
  ['fraiseql-integrations', main],
  ['fraiseql-observers', observersMain],
] as const) {
  describe(`${name} --help / --version`, () => {
    it('prints the package version', async () => {
      for (const flag of ['--version', '-V']) {
        const r = await capture(run, [flag]);
        expect(r.code).toBe(0);
        expect(r.out.trim()).toBe(pkg.version);
      }
    });

    it('shows an example in the help of every command', async () => {
      const seen: string[] = [];
      const walk = async (path: string[]) => {
        const r = await capture(run, [...path, '--help']);
        expect(r.code, path.join(' ')).toBe(0);
        seen.push(path.join(' '));
        const example = r.out.split('\nExample:\n')[1];
        expect(example, `${name} ${path.join(' ')} --help has no example`).toBeDefined();
        // The example runs this very command.
        expect(example).toContain(`$ ${name} ${path.join(' ')}`.trimEnd());
        for (const sub of subcommands(r.out)) await walk([...path, sub]);
      };
      await walk([]);
      // The walk really went through the tree, sub-commands included.
      expect(seen.length).toBeGreaterThan(name === 'fraiseql-integrations' ? 40 : 8);
      expect(seen).toContain(name === 'fraiseql-integrations' ? 'dlq retry-all' : 'dlq show');
    });
  });
}

import type { Command } from 'commander';

/**
 * One example per command, by program and command path (`""` is the program itself). `runProgram`
 * appends each as an "Example:" section to the command's `--help`; a test walks every command and
 * fails when one has none, so a new command cannot ship without its example.
 */
const EXAMPLES: Record<string, Record<string, string[]>> = {
  'fraiseql-integrations': {
    '': ['serve', 'status --format json'],
    serve: ['serve --port 8080 --handlers ./handlers.js'],
    observe: ['observe --config fraiseql.toml --role worker'],
    status: ['status', 'status --url http://127.0.0.1:8080 --format json'],
    'validate-config': ['validate-config fraiseql.toml --detailed'],
    metrics: ['metrics --metric fraiseql_integration_ --url http://127.0.0.1:8080'],
    slo: ['slo status'],
    'slo status': ['slo status --format json'],
    'slo rules': ['slo rules -o slo-rules.yml'],
    queue: ['queue stats emails'],
    'queue stats': ['queue stats emails --format json'],
    'queue list': ['queue list emails --state failed --limit 20'],
    'queue show': ['queue show emails 0190a5e2-7c1d-7b3e-9f00-4d2c8a1b6e55'],
    'queue enqueue': [`queue enqueue emails '{"to":"ada@example.com"}' --priority 5 --delay-ms 60000`],
    'queue retry': ['queue retry emails 0190a5e2-7c1d-7b3e-9f00-4d2c8a1b6e55'],
    'queue delete': ['queue delete emails 0190a5e2-7c1d-7b3e-9f00-4d2c8a1b6e55'],
    'queue retry-all': ['queue retry-all emails --dry-run'],
    'queue pause': ['queue pause emails'],
    'queue resume': ['queue resume emails'],
    dlq: ['dlq list'],
    'dlq list': ['dlq list', 'dlq list emails --limit 10 --format json'],
    'dlq show': ['dlq show emails 0190a5e2-7c1d-7b3e-9f00-4d2c8a1b6e55'],
    'dlq retry': ['dlq retry emails 0190a5e2-7c1d-7b3e-9f00-4d2c8a1b6e55'],
    'dlq retry-all': ['dlq retry-all emails'],
    search: ['search query products "blue widget"'],
    'search query': [
      `search query products widget --filter '{"field":"price","op":"lt","value":20}' --sort price:asc`,
    ],
    'search import': ['search import products ./products.jsonl --batch 1000'],
    'search reindex': [
      `search reindex products --from-sql "SELECT id, name, price FROM products"`,
      'search reindex products --from-file ./products.ndjson --max-failed 10',
    ],
    'search clear': ['search clear products'],
    'search configure': ['search configure products --searchable name,description --filterable price'],
    cache: ['cache get greeting'],
    'cache get': ['cache get greeting --format json'],
    'cache set': ['cache set greeting hello --ttl-ms 60000'],
    'cache del': ['cache del greeting'],
    'cache del-pattern': ["cache del-pattern 'session:*'"],
    'cache ttl': ['cache ttl greeting'],
    flow: ['flow list'],
    'flow list': ['flow list --url http://127.0.0.1:8080'],
    'flow status': ['flow status orders-to-crm'],
    'flow start': ['flow start orders-to-crm'],
    'flow stop': ['flow stop orders-to-crm'],
    'flow logs': ['flow logs orders-to-crm --limit 20'],
    connector: ['connector list'],
    'connector list': ['connector list --format json'],
    'connector test': ['connector test crm'],
    schedule: ['schedule list'],
    'schedule list': ['schedule list --next 3'],
    'schedule add': [
      `schedule add nightly-report --queue reports --cron "0 30 2 * * *" --tz Europe/Paris --data '{"kind":"daily"}'`,
    ],
    'schedule remove': ['schedule remove nightly-report'],
    'schedule run-now': ['schedule run-now nightly-report'],
    plugin: ['plugin list'],
    'plugin list': ['plugin list --format json'],
    'plugin status': ['plugin status my-plugin'],
  },
  'fraiseql-observers': {
    '': ['status', 'dlq list --observer order-placed'],
    status: ['status --format json'],
    'debug-event': ['debug-event --entity-type Order --kind INSERT --history 5'],
    dlq: ['dlq list'],
    'dlq list': ['dlq list --observer order-placed --limit 50'],
    'dlq show': ['dlq show 42'],
    'dlq retry': ['dlq retry 42'],
    'dlq retry-all': ['dlq retry-all --observer order-placed --dry-run'],
    'validate-config': ['validate-config fraiseql.toml'],
    capture: ['capture --table public.orders --entity Order'],
    metrics: ['metrics --metric fraiseql_observer_ --url http://127.0.0.1:8080'],
  },
};

function pathOf(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Adds the "Example:" section to `program` and every command under it that has one. */
export function addExamples(program: Command): void {
  const table = EXAMPLES[program.name()] ?? {};
  const visit = (cmd: Command) => {
    const lines = table[pathOf(cmd)];
    if (lines)
      cmd.addHelpText('after', `\nExample:\n${lines.map((l) => `  $ ${program.name()} ${l}`).join('\n')}\n`);
    for (const sub of cmd.commands) visit(sub);
  };
  visit(program);
}

import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';

/** Debian's chromium, headless, nothing fetched from the network by the browser itself. */
export const launch = (): Promise<Browser> =>
  chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });

export const SHOTS = new URL('../test-results', import.meta.url).pathname;
mkdirSync(SHOTS, { recursive: true });

export async function shot(page: Page, name: string): Promise<string> {
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** axe-core on the page as it is now: no serious or critical violation. */
export async function expectAccessible(page: Page): Promise<void> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: AXE });
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as { axe: { run(ctx: Document, o: object): Promise<{ violations: unknown[] }> } }
    ).axe;
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations;
  });
  const bad = (violations as AxeViolation[])
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad).toEqual([]);
}

/**
 * Tabs through the page from the top and checks every visible, enabled control (links, buttons,
 * inputs, selects, textareas) receives focus; and that every table has column headers.
 */
export async function expectKeyboardReachable(page: Page): Promise<void> {
  const total = await page.evaluate(() => {
    const all = [...document.querySelectorAll<HTMLElement>('a[href], button, input, select, textarea')];
    const visible = all.filter((el) => !(el as HTMLButtonElement).disabled && el.offsetParent !== null);
    visible.forEach((el, i) => {
      el.dataset.kb = String(i);
    });
    (document.activeElement as HTMLElement | null)?.blur();
    return visible.length;
  });
  const seen = new Set<string>();
  for (let i = 0; i < total + 3 && seen.size < total; i++) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.kb);
    if (id !== undefined) seen.add(id);
  }
  const missed = await page.evaluate(
    (ids) =>
      [...document.querySelectorAll<HTMLElement>('[data-kb]')]
        .filter((el) => !ids.includes(el.dataset.kb!))
        .map((el) => el.outerHTML.slice(0, 120)),
    [...seen],
  );
  expect(missed).toEqual([]);
  const headless = await page.evaluate(
    () =>
      [...document.querySelectorAll('table')].filter((t) => t.querySelectorAll('thead th').length === 0)
        .length,
  );
  expect(headless).toBe(0);
}

import { describe, expect, it } from 'vitest';
import { escapeHtml, safeHighlight } from '../src/lib/highlight';

describe('safeHighlight', () => {
  it('keeps bare <mark> tags and escapes everything else', () => {
    expect(safeHighlight('a <mark>fraise</mark> <img src=x onerror=alert(1)>')).toBe(
      'a <mark>fraise</mark> &lt;img src=x onerror=alert(1)&gt;',
    );
  });

  it('does not restore a mark with attributes, nor tags hidden in entities', () => {
    expect(safeHighlight('<mark onclick="x()">a</mark>')).toBe(
      '&lt;mark onclick=&quot;x()&quot;&gt;a</mark>',
    );
    expect(safeHighlight('&lt;script&gt;')).toBe('&amp;lt;script&amp;gt;');
    expect(escapeHtml(`<>&"'`)).toBe('&lt;&gt;&amp;&quot;&#39;');
  });
});

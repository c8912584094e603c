/**
 * Search engines wrap matches in `<mark>…</mark>` inside otherwise untrusted document text. We
 * escape everything, then turn back only the exact escaped mark tags into real ones: whatever
 * else the text holds (`<script>`, `<img onerror>`) stays text.
 */
const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** HTML for a highlight: escaped text with `<mark>` / `</mark>` (no attributes) restored. */
export function safeHighlight(text: string): string {
  return escapeHtml(text).replace(/&lt;(\/?)mark&gt;/g, '<$1mark>');
}

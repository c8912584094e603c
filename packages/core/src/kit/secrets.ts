/**
 * The password of a connection URL, raw and percent-decoded, to scrub from messages; `[]` when the
 * URL has none or does not parse.
 */
export function urlSecrets(url: string): string[] {
  let password: string;
  try {
    password = new URL(url).password;
  } catch {
    return [];
  }
  if (!password) return [];
  try {
    const decoded = decodeURIComponent(password);
    return decoded === password ? [password] : [password, decoded];
  } catch {
    return [password];
  }
}

/** Shows a connection string without its password: `postgres://user:***@host:5432/db`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    for (const key of [...parsed.searchParams.keys()]) {
      if (/pass|secret|token|key/i.test(key)) parsed.searchParams.set(key, '***');
    }
    return parsed.toString();
  } catch {
    // Not a URL we can parse: show nothing of it rather than risk a password.
    return '<unparseable url>';
  }
}

/** `sk-...wxyz`: enough to recognise a key, never enough to use it. */
export function maskSecret(secret: string): string {
  if (secret.length <= 8) return '***';
  const prefix = secret.startsWith('sk-') ? 'sk-' : '';
  return `${prefix}...${secret.slice(-4)}`;
}

/** Key-shaped tokens (`sk-` and at least six more characters) anywhere in a text. */
const KEY_TOKEN = /(?<![A-Za-z0-9])sk-[A-Za-z0-9_\-.~+/=]{6,}/g;

/** The text with every key-shaped token masked (`sk-...wxyz`): for messages that quote what a caller sent. */
export function maskKeysIn(text: string): string {
  return text.replace(KEY_TOKEN, (token) => maskSecret(token));
}

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

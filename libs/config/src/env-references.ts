const ENV_REFERENCE = /^os\.environ\/([A-Za-z_][A-Za-z0-9_]*)$/;

export interface ResolveResult {
  value: unknown;
  problems: string[];
}

/**
 * Replaces every string `os.environ/NAME` in a parsed YAML tree by the value of the environment variable NAME
 * (the product page's convention). A reference to an unset variable is a problem that names the key path.
 */
export function resolveEnvReferences(
  tree: unknown,
  env: Readonly<Record<string, string | undefined>>,
  where: string,
): ResolveResult {
  const problems: string[] = [];
  const visit = (node: unknown, path: string): unknown => {
    if (typeof node === 'string') {
      const match = ENV_REFERENCE.exec(node.trim());
      if (!match) return node;
      const name = match[1];
      const value = env[name];
      if (value === undefined || value === '') {
        problems.push(
          `${where}: ${path}: refers to environment variable ${name} (os.environ/${name}), which is not set; set it or change the value`,
        );
        return undefined;
      }
      return value;
    }
    if (Array.isArray(node)) return node.map((item, i) => visit(item, `${path}[${i}]`));
    if (node !== null && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(node)) out[key] = visit(value, path ? `${path}.${key}` : key);
      return out;
    }
    return node;
  };
  return { value: visit(tree, ''), problems };
}

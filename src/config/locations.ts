// Where each key's value was written (line and column), kept beside the config objects rather than inside them,
// so the schema stays plain data and validation can still point at the exact token.

export interface KeyLocation {
  line: number;
  column: number;
}

const table = new WeakMap<object, Map<string, KeyLocation>>();

export function recordLocation(target: object, key: string, loc: KeyLocation): void {
  let m = table.get(target);
  if (!m) {
    m = new Map();
    table.set(target, m);
  }
  m.set(key, loc);
}

export function locationOf(target: object, key: string): KeyLocation | undefined {
  return table.get(target)?.get(key);
}

// The key-table row of a directord extension key stored in a sub-object of its block (mysql_*, writer_*, bgp_*):
// apart from keys.ts so that src/bgp/settings.ts builds its rows with it without an import cycle.
import type { KeyDef, Scope, ValueKind } from './keys';

/** Where a block keeps the sub-object: made (with its defaults) on the first write, absent until then. */
export interface SubObject<T, S> {
  make(target: T): S;
  of(target: T): S | undefined;
}

/** A row setting `prop` of the sub-object; printed only where the sub-object exists, so configurations without these
 * keys keep their effective text unchanged. */
export function nestedKey<T, S>(sub: SubObject<T, S>, name: string, scope: Scope, kind: ValueKind, prop: keyof S, extra: Partial<KeyDef> = {}): KeyDef {
  return {
    name, scope, kind, extension: true, ...extra,
    set: (t: T, v: unknown) => { (sub.make(t) as Record<keyof S, unknown>)[prop] = v; },
    get: (t: T) => sub.of(t)?.[prop],
  };
}

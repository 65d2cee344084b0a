// A binary min-heap of timer entries ordered by (time, id): the model's stand-in for kernel connection timers.
// Entries go stale instead of being removed; the owner checks `seq` against the timer's current one.

export interface TimerEntry<T> {
  t: number;
  id: number;
  seq: number;
  item: T;
}

export class TimerHeap<T> {
  private a: TimerEntry<T>[] = [];

  get size(): number { return this.a.length; }

  peek(): TimerEntry<T> | undefined { return this.a[0]; }

  push(e: TimerEntry<T>): void {
    const a = this.a;
    let i = a.push(e) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }

  pop(): TimerEntry<T> | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && less(a[l], a[m])) m = l;
        if (r < a.length && less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }

  /** All entries, live and stale, in heap order. */
  entries(): readonly TimerEntry<T>[] { return this.a; }
}

function less<T>(x: TimerEntry<T>, y: TimerEntry<T>): boolean {
  return x.t < y.t || (x.t === y.t && x.id < y.id);
}

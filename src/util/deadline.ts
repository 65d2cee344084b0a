// Deadlines for steps that wait on the outside world (a peer, a socket, the kernel): a step that hangs is abandoned
// with a logged timeout so the next step, and the exit, still happen.
import { DirectordError } from '../errors';

/** Resolve or reject as `p` does, or reject with `code` after `ms`. */
export function withDeadline<T>(p: Promise<T> | T, ms: number, what: string, code = 'E_TIMEOUT'): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new DirectordError(code, `${what} did not finish within ${ms} ms`, { details: { what, ms } })), ms);
    Promise.resolve(p).then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

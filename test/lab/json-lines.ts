// The JSON lines a lab child writes (directord's log, the workload and sessions children), split as
// they arrive: a line can span pipe reads, so only complete lines are passed on.
import type { Readable } from 'node:stream';

/** Calls onLine with each complete line of `stream` (without its newline). */
function onLines(stream: Readable, onLine: (line: string) => void): void {
  let buffered = '';
  stream.on('data', (d) => {
    buffered += String(d);
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      onLine(line);
    }
  });
}

/** Calls onJson with each complete line of `stream` that parses as JSON, onOther with the other non-blank lines. */
export function onJsonLines<T>(stream: Readable, onJson: (value: T) => void, onOther: (line: string) => void): void {
  onLines(stream, (line) => {
    if (!line.trim()) return;
    let value: T;
    try {
      value = JSON.parse(line) as T;
    } catch {
      onOther(line);
      return;
    }
    onJson(value);
  });
}

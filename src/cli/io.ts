// Where directorctl writes: its own module so the command modules (run, offline, logs) need not import each other.
export interface CliIo {
  out(s: string): void;
  err(s: string): void;
}

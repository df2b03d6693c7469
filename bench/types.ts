/** What every scenario gets and gives back. */
import type { Backend } from "./backend";

/** One line of the results table. Timing rows carry median and p99 (ms); others a value. */
export type Row = {
  section: string;
  name: string;
  median?: number;
  p99?: number;
  /** Trials (or samples) behind median and p99. */
  n?: number;
  /** A non-timing result (a count, a size, a rate), shown in place of the median. */
  value?: string;
  notes?: string;
};

export type Bench = {
  backend: Backend;
  /** Another version of the backend (`--against=<ref>`), benched beside it where a scenario can. */
  against?: Backend;
  quick: boolean;
  /** Prints one progress line (with the time since the run started). */
  progress(message: string): void;
  /** Records a failure that must make the run exit non-zero; the run goes on. */
  fail(message: string): void;
  /** Starts a second backend of the same source, with operator settings or V8 flags changed; the caller stops it. */
  startBackend(options: { vars?: Record<string, string>; v8Flags?: string[] }): Promise<Backend>;
};

/**
 * Many rows of one table inserted per statement. A push of 10k new comments is 10k rows in
 * messages and in events; one statement per row spends most of its time crossing into
 * SQLite, not in it.
 */

/**
 * SQLite on Durable Objects binds at most 100 parameters per statement: multi-row inserts
 * and `IN (…)` lookups go in chunks that stay under it.
 */
export const MAX_BOUND = 100;

export class RowBuffer {
  private readonly perStatement: number;
  private readonly fullSql: string;
  private values: SqlStorageValue[] = [];

  /** @param head the statement up to `VALUES`, e.g. `INSERT INTO events (seq, at, frame, audience)` */
  constructor(
    private readonly sql: SqlStorage,
    private readonly head: string,
    private readonly columns: number,
  ) {
    this.perStatement = Math.floor(MAX_BOUND / columns);
    this.fullSql = this.statement(this.perStatement);
  }

  add(...row: SqlStorageValue[]): void {
    this.values.push(...row);
    if (this.values.length === this.perStatement * this.columns) this.flush();
  }

  flush(): void {
    if (!this.values.length) return;
    const rows = this.values.length / this.columns;
    this.sql.exec(rows === this.perStatement ? this.fullSql : this.statement(rows), ...this.values);
    this.values = [];
  }

  private statement(rows: number): string {
    const row = `(${new Array(this.columns).fill("?").join(", ")})`;
    return `${this.head} VALUES ${new Array(rows).fill(row).join(", ")}`;
  }
}

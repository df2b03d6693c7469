/**
 * Runs the not-yet-applied entries of an append-only list of SQL migrations, in order.
 * Called from a Durable Object's constructor inside `blockConcurrencyWhile`.
 */
export function migrate(sql: SqlStorage, migrations: readonly string[]): void {
  sql.exec("CREATE TABLE IF NOT EXISTS _migrations (version INTEGER PRIMARY KEY, at INTEGER NOT NULL)");
  const done = sql.exec<{ v: number | null }>("SELECT MAX(version) AS v FROM _migrations").one().v ?? 0;
  migrations.slice(done).forEach((statement, i) => {
    sql.exec(statement);
    sql.exec("INSERT INTO _migrations (version, at) VALUES (?, ?)", done + i + 1, Date.now());
  });
}

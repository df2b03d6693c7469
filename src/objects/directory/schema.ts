/** The Directory's SQLite schema, as the migrations that build it. */

/** Append-only: each entry runs once, in order, in the constructor. Never edit an applied one. */
export const DIRECTORY_MIGRATIONS: string[] = [
  `CREATE TABLE channels (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     custom_name TEXT,
     avatar TEXT NOT NULL DEFAULT '',
     platform TEXT NOT NULL DEFAULT '',
     last_message TEXT NOT NULL DEFAULT '',
     last_message_time INTEGER NOT NULL DEFAULT 0,
     unread_count INTEGER NOT NULL DEFAULT 0,
     message_count INTEGER NOT NULL DEFAULT 0,
     is_pinned INTEGER NOT NULL DEFAULT 0,
     enabled INTEGER NOT NULL DEFAULT 1,
     last_sync_at INTEGER,
     seq INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX channels_order ON channels (is_pinned DESC, last_message_time DESC, id);`,
  // The accounts a restricted token's socket may see: up to 200 ids, far more than a socket
  // attachment holds. Rows of sockets that are gone are swept (see `sweepScopes`).
  `CREATE TABLE socket_accounts (
     account TEXT NOT NULL,
     socket TEXT NOT NULL,
     PRIMARY KEY (account, socket)
   ) WITHOUT ROWID;
   CREATE INDEX socket_accounts_by_socket ON socket_accounts (socket);`,
  // Account health (PROTOCOL §10) as the account's room last reported it.
  `ALTER TABLE channels ADD COLUMN last_seen_at INTEGER;
   ALTER TABLE channels ADD COLUMN interval_ms INTEGER;
   ALTER TABLE channels ADD COLUMN login TEXT;
   ALTER TABLE channels ADD COLUMN crawler_error TEXT;`,
  // Statistics (PROTOCOL §11) as the account's room last reported them.
  `ALTER TABLE channels ADD COLUMN topic_count INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE channels ADD COLUMN notification_count INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE channels ADD COLUMN clients TEXT NOT NULL DEFAULT '[]';
   ALTER TABLE channels ADD COLUMN push_minutes TEXT NOT NULL DEFAULT '[]';`,
  // Storage (PROTOCOL §10, §11): the account's database size as its room last reported it.
  `ALTER TABLE channels ADD COLUMN storage_bytes INTEGER;`,
  // Statistics: pushes per minute as rows, so that a summary carries only the minutes that
  // changed and the windows are summed here, instead of a day of minutes rewritten (and read
  // back) as one JSON text on every push.
  `CREATE TABLE push_minutes (
     channel TEXT NOT NULL,
     minute INTEGER NOT NULL,
     n INTEGER NOT NULL,
     PRIMARY KEY (channel, minute)
   ) WITHOUT ROWID;
   INSERT INTO push_minutes (channel, minute, n)
     SELECT c.id, json_extract(m.value, '$[0]'), json_extract(m.value, '$[1]')
     FROM channels AS c, json_each(c.push_minutes) AS m WHERE true
     ON CONFLICT DO NOTHING;
   ALTER TABLE channels DROP COLUMN push_minutes;`,
  // Accounts admitted under MAX_ACCOUNTS_PER_TENANT whose first summary has not come (yet):
  // counted with the channels, so that two first pushes at once cannot both take the last place.
  `CREATE TABLE admitted (id TEXT PRIMARY KEY) WITHOUT ROWID;`,
];

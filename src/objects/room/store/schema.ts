/** The AccountRoom's SQLite schema, as the migrations that build it. */

/** Append-only: each entry runs once, in order, in the constructor. Never edit an applied one. */
export const ROOM_MIGRATIONS: string[] = [
  `CREATE TABLE account (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     tenant TEXT NOT NULL,
     account_id TEXT NOT NULL,
     epoch TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     seq INTEGER NOT NULL DEFAULT 0,
     platform TEXT NOT NULL DEFAULT '',
     name TEXT,
     avatar TEXT,
     platform_user_id TEXT,
     account_ts INTEGER NOT NULL DEFAULT 0,
     last_message TEXT NOT NULL DEFAULT '',
     last_message_time INTEGER NOT NULL DEFAULT 0,
     message_count INTEGER NOT NULL DEFAULT 0,
     unread_count INTEGER NOT NULL DEFAULT 0,
     last_sync_at INTEGER
   );
   CREATE TABLE topics (
     id TEXT PRIMARY KEY,
     kind TEXT NOT NULL,
     raw TEXT,
     hash TEXT,
     ts INTEGER NOT NULL DEFAULT 0,
     title TEXT NOT NULL,
     avatar TEXT,
     base_time INTEGER NOT NULL,
     last_message TEXT NOT NULL DEFAULT '',
     last_message_time INTEGER NOT NULL DEFAULT 0,
     message_count INTEGER NOT NULL DEFAULT 0,
     unread_count INTEGER NOT NULL DEFAULT 0,
     read_seq INTEGER NOT NULL DEFAULT 0,
     sort_time INTEGER NOT NULL
   );
   CREATE INDEX topics_by_time ON topics (sort_time DESC, id);
   CREATE TABLE messages (
     id TEXT PRIMARY KEY,
     platform_id TEXT UNIQUE,
     kind TEXT NOT NULL,
     topic_id TEXT NOT NULL,
     seq INTEGER NOT NULL,
     timestamp INTEGER NOT NULL,
     inbound INTEGER NOT NULL,
     hash TEXT,
     ts INTEGER NOT NULL DEFAULT 0,
     raw TEXT,
     body TEXT NOT NULL
   );
   CREATE INDEX messages_by_topic ON messages (topic_id, seq);
   CREATE INDEX messages_by_kind_time ON messages (kind, timestamp DESC, seq DESC);
   CREATE TABLE notifications (
     id TEXT PRIMARY KEY,
     seq INTEGER NOT NULL,
     hash TEXT NOT NULL,
     ts INTEGER NOT NULL,
     raw TEXT NOT NULL,
     body TEXT NOT NULL
   );
   CREATE TABLE events (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, frame TEXT NOT NULL);
   CREATE TABLE cursors (client_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, at INTEGER NOT NULL);`,
  // Replies and logins the crawler carries out (PROTOCOL §7); admin-only events (login).
  `ALTER TABLE events ADD COLUMN audience TEXT NOT NULL DEFAULT 'all';
   CREATE TABLE commands (
     id TEXT PRIMARY KEY,
     type TEXT NOT NULL,
     client_msg_id TEXT UNIQUE,
     message_id TEXT,
     topic_id TEXT,
     topic_kind TEXT,
     reply_to_id TEXT,
     content TEXT,
     status TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     error TEXT,
     platform_message_id TEXT,
     created_at INTEGER NOT NULL,
     pending_since INTEGER NOT NULL,
     taken_at INTEGER,
     stale INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX commands_pending ON commands (status, pending_since);
   CREATE TABLE login (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     command_id TEXT NOT NULL,
     status TEXT NOT NULL,
     error TEXT,
     image TEXT,
     expires_at INTEGER,
     qrcode_seq INTEGER
   );`,
  // Account health (PROTOCOL §10): the crawler's last sign of life and what it said; when a
  // summary the Directory did not take is to be sent again.
  `ALTER TABLE account ADD COLUMN last_seen_at INTEGER;
   ALTER TABLE account ADD COLUMN interval_ms INTEGER;
   ALTER TABLE account ADD COLUMN login TEXT;
   ALTER TABLE account ADD COLUMN crawler_error TEXT;
   ALTER TABLE account ADD COLUMN summary_retry_at INTEGER;`,
  // Notification history (PROTOCOL §11): when a client first acknowledged each one (the seed's
  // is_sent / sent_at), and the newest-first page over it.
  `ALTER TABLE notifications ADD COLUMN sent_at INTEGER;
   CREATE INDEX notifications_by_seq ON notifications (seq);`,
  // Statistics (PROTOCOL §11): pushes per minute of the last day, for the sliding windows.
  `CREATE TABLE push_minutes (minute INTEGER PRIMARY KEY, n INTEGER NOT NULL);`,
  // Storage (docs/OPERATIONS.md): a new message's event is its message row as it was then, so it
  // is stored once. `frame` is '' and `message` the row's rowid while the row's body is still the
  // one the event carried; the frame is written out before the body changes. The log is copied
  // rather than updated in place (SQLite frees no page a row merely shrinks in), and an
  // existing event is converted only when its frame is exactly the one its message row makes.
  `CREATE TABLE events_once (
     seq INTEGER PRIMARY KEY,
     at INTEGER NOT NULL,
     frame TEXT NOT NULL,
     audience TEXT NOT NULL DEFAULT 'all',
     message INTEGER
   );
   CREATE INDEX messages_by_seq_once ON messages (seq);
   INSERT INTO events_once (seq, at, frame, audience, message)
     SELECT e.seq, e.at, CASE WHEN m.rowid IS NULL THEN e.frame ELSE '' END, e.audience, m.rowid
     FROM events AS e LEFT JOIN messages AS m ON m.seq = e.seq
       AND e.frame LIKE '{"type":"channel:message",%'
       AND e.frame = '{"type":"channel:message","payload":{"seq":' || e.seq ||
         ',"channelId":' || json_quote(json_extract(m.body, '$.channelId')) ||
         ',"topicId":' || json_quote(json_extract(m.body, '$.topicId')) ||
         ',"message":' || m.body || '}}'
     ORDER BY e.seq;
   DROP INDEX messages_by_seq_once;
   DROP TABLE events;
   ALTER TABLE events_once RENAME TO events;`,
  // Cold history (docs/OPERATIONS.md, "Storage"): the oldest messages, moved to R2 in batches
  // (`archive_batches`, one object each, named by its first and last seq). Each moved message
  // keeps a key row: its platform id, so a later snapshot does not make it new again; its
  // topic, seq, direction, kind and time, so history pages, unread counts and the
  // compatibility lists still reach it.
  `CREATE TABLE archive_batches (first_seq INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL, count INTEGER NOT NULL);
   CREATE TABLE archived (
     seq INTEGER PRIMARY KEY,
     batch INTEGER NOT NULL,
     platform_id TEXT,
     kind TEXT NOT NULL,
     topic_id TEXT NOT NULL,
     inbound INTEGER NOT NULL,
     timestamp INTEGER NOT NULL
   );
   CREATE INDEX archived_by_platform_id ON archived (platform_id);
   CREATE INDEX archived_by_topic ON archived (topic_id, seq, inbound);
   CREATE INDEX archived_by_kind_time ON archived (kind, timestamp DESC, seq DESC);`,
  // Statistics (PROTOCOL §11): the newest minute whose push count the Directory has taken; a
  // summary carries the minutes from that one on, not the whole day (null: the whole day).
  `ALTER TABLE account ADD COLUMN pushes_reported INTEGER;`,
  // A read cursor and a reply's clientMsgId belong to a token's `sub` and the id it chose
  // (SECURITY.md): another agent using the same client id moves neither. Cursors stored before
  // are kept under the empty sub, read by whoever resumes under their client id until that one
  // saves its own; older replies keep no agent, and still answer their clientMsgId's retry.
  `CREATE TABLE cursors_by_sub (
     sub TEXT NOT NULL,
     client_id TEXT NOT NULL,
     seq INTEGER NOT NULL,
     at INTEGER NOT NULL,
     PRIMARY KEY (sub, client_id)
   );
   INSERT INTO cursors_by_sub (sub, client_id, seq, at) SELECT '', client_id, seq, at FROM cursors;
   DROP TABLE cursors;
   ALTER TABLE cursors_by_sub RENAME TO cursors;
   CREATE TABLE commands_by_agent (
     id TEXT PRIMARY KEY,
     type TEXT NOT NULL,
     agent TEXT,
     client_msg_id TEXT,
     message_id TEXT,
     topic_id TEXT,
     topic_kind TEXT,
     reply_to_id TEXT,
     content TEXT,
     status TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     error TEXT,
     platform_message_id TEXT,
     created_at INTEGER NOT NULL,
     pending_since INTEGER NOT NULL,
     taken_at INTEGER,
     stale INTEGER NOT NULL DEFAULT 0,
     UNIQUE (agent, client_msg_id)
   );
   INSERT INTO commands_by_agent (id, type, client_msg_id, message_id, topic_id, topic_kind, reply_to_id, content,
       status, attempts, error, platform_message_id, created_at, pending_since, taken_at, stale)
     SELECT id, type, client_msg_id, message_id, topic_id, topic_kind, reply_to_id, content,
       status, attempts, error, platform_message_id, created_at, pending_since, taken_at, stale FROM commands;
   DROP TABLE commands;
   ALTER TABLE commands_by_agent RENAME TO commands;
   CREATE INDEX commands_pending ON commands (status, pending_since);
   CREATE INDEX commands_by_client_msg_id ON commands (client_msg_id);`,
];

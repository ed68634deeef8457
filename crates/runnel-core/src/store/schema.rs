//! The schema, versioned with `user_version` and migrated forward in one
//! transaction per step; version 1 is the first schema.

use super::Store;
use rusqlite::TransactionBehavior;

/// The schema this build writes.
pub const SCHEMA_VERSION: i32 = 9;

/// Version 1: conversations and messages.
pub const SCHEMA_V1: &str = "
CREATE TABLE conversations (
  id TEXT PRIMARY KEY,
  title TEXT NOT NULL DEFAULT '',
  title_custom INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  provider TEXT,
  model TEXT,
  system_prompt TEXT NOT NULL DEFAULT '',
  pinned INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX conversations_order ON conversations(pinned DESC, updated DESC, id DESC);
CREATE TABLE messages (
  id TEXT PRIMARY KEY,
  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  role TEXT NOT NULL,
  content TEXT NOT NULL DEFAULT '',
  reasoning TEXT,
  tool_calls TEXT,
  status TEXT NOT NULL,
  error_kind TEXT,
  error_message TEXT,
  finish_reason TEXT,
  usage TEXT,
  metrics TEXT,
  created INTEGER NOT NULL,
  writer TEXT
);
CREATE INDEX messages_by_conversation ON messages(conversation_id, seq);
";

/// Version 2: answer versions (regenerate, edit) and full-text search.
pub const SCHEMA_V2: &str = "
ALTER TABLE messages ADD COLUMN parent_id TEXT;
ALTER TABLE messages ADD COLUMN variant_of TEXT;
ALTER TABLE messages ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
CREATE VIRTUAL TABLE messages_fts USING fts5(
  content, content='messages', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE titles_fts USING fts5(
  title, content='conversations', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2');
INSERT INTO messages_fts(rowid, content) SELECT rowid, content FROM messages WHERE status != 'streaming';
INSERT INTO titles_fts(rowid, title) SELECT rowid, title FROM conversations;
CREATE TRIGGER messages_ai AFTER INSERT ON messages WHEN new.status != 'streaming' BEGIN
  INSERT INTO messages_fts(rowid, content) VALUES (new.rowid, new.content);
END;
CREATE TRIGGER messages_ad AFTER DELETE ON messages WHEN old.status != 'streaming' BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
END;
CREATE TRIGGER messages_au AFTER UPDATE OF content, status ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, content)
    SELECT 'delete', old.rowid, old.content WHERE old.status != 'streaming';
  INSERT INTO messages_fts(rowid, content)
    SELECT new.rowid, new.content WHERE new.status != 'streaming';
END;
CREATE TRIGGER conversations_ai AFTER INSERT ON conversations BEGIN
  INSERT INTO titles_fts(rowid, title) VALUES (new.rowid, new.title);
END;
CREATE TRIGGER conversations_ad AFTER DELETE ON conversations BEGIN
  INSERT INTO titles_fts(titles_fts, rowid, title) VALUES ('delete', old.rowid, old.title);
END;
CREATE TRIGGER conversations_au AFTER UPDATE OF title ON conversations BEGIN
  INSERT INTO titles_fts(titles_fts, rowid, title) VALUES ('delete', old.rowid, old.title);
  INSERT INTO titles_fts(rowid, title) VALUES (new.rowid, new.title);
END;
CREATE INDEX messages_by_parent ON messages(parent_id);
";

/// Version 3: Anthropic thinking (blocks kept per answer, a budget per
/// conversation) and an index that makes crash recovery at start instant.
pub const SCHEMA_V3: &str = "
ALTER TABLE messages ADD COLUMN thinking_blocks TEXT;
ALTER TABLE conversations ADD COLUMN thinking_budget INTEGER;
CREATE INDEX messages_streaming ON messages(conversation_id, writer) WHERE status = 'streaming';
";

/// Version 4: sampling settings (temperature, top-p, max tokens) per
/// conversation, as JSON; NULL is the provider's defaults.
pub const SCHEMA_V4: &str = "
ALTER TABLE conversations ADD COLUMN sampling TEXT;
";

/// Version 5: who answered (provider, model) and what went over the wire
/// (the trace, JSON, read only on demand) per answer, and token usage per
/// hour, provider and model, and per conversation, provider and model, kept
/// up by a trigger when an answer finishes. Usage over time is what was
/// spent: deleting a conversation does not take it back (its own sums go
/// with it, and come back with Undo or an import).
/// Answers stored before take their conversation's provider and model
/// ('' when the conversation followed the default provider).
pub const SCHEMA_V5: &str = "
ALTER TABLE messages ADD COLUMN provider TEXT;
ALTER TABLE messages ADD COLUMN model TEXT;
ALTER TABLE messages ADD COLUMN trace TEXT;
CREATE TABLE usage_hourly (
  hour INTEGER NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  answers INTEGER NOT NULL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cached_input_tokens INTEGER NOT NULL,
  estimated_answers INTEGER NOT NULL,
  PRIMARY KEY (hour, provider, model)
) WITHOUT ROWID;
INSERT INTO usage_hourly
  SELECT m.created / 3600000, coalesce(c.provider, ''), coalesce(c.model, ''), count(*),
    sum(coalesce(json_extract(m.usage, '$.input_tokens'), 0)),
    sum(coalesce(json_extract(m.usage, '$.output_tokens'), 0)),
    sum(coalesce(json_extract(m.usage, '$.cached_input_tokens'), 0)),
    sum(coalesce(json_extract(m.usage, '$.estimated'), 0))
  FROM messages m JOIN conversations c ON c.id = m.conversation_id
  WHERE m.role = 'assistant' AND m.status != 'streaming' AND m.usage IS NOT NULL
  GROUP BY 1, 2, 3;
CREATE TABLE conversation_usage (
  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  answers INTEGER NOT NULL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cached_input_tokens INTEGER NOT NULL,
  estimated_answers INTEGER NOT NULL,
  PRIMARY KEY (conversation_id, provider, model)
) WITHOUT ROWID;
INSERT INTO conversation_usage
  SELECT conversation_id, coalesce(provider, ''), coalesce(model, ''), count(*),
    sum(coalesce(json_extract(usage, '$.input_tokens'), 0)),
    sum(coalesce(json_extract(usage, '$.output_tokens'), 0)),
    sum(coalesce(json_extract(usage, '$.cached_input_tokens'), 0)),
    sum(coalesce(json_extract(usage, '$.estimated'), 0))
  FROM messages WHERE role = 'assistant' AND status != 'streaming' AND usage IS NOT NULL
  GROUP BY 1, 2, 3;
CREATE TRIGGER usage_on_finish AFTER UPDATE OF status ON messages
WHEN old.status = 'streaming' AND new.status != 'streaming' AND new.role = 'assistant'
  AND new.usage IS NOT NULL
BEGIN
  INSERT INTO usage_hourly VALUES (new.created / 3600000, coalesce(new.provider, ''),
    coalesce(new.model, ''), 1,
    coalesce(json_extract(new.usage, '$.input_tokens'), 0),
    coalesce(json_extract(new.usage, '$.output_tokens'), 0),
    coalesce(json_extract(new.usage, '$.cached_input_tokens'), 0),
    coalesce(json_extract(new.usage, '$.estimated'), 0))
  ON CONFLICT (hour, provider, model) DO UPDATE SET
    answers = answers + 1,
    input_tokens = input_tokens + excluded.input_tokens,
    output_tokens = output_tokens + excluded.output_tokens,
    cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens,
    estimated_answers = estimated_answers + excluded.estimated_answers;
  INSERT INTO conversation_usage VALUES (new.conversation_id, coalesce(new.provider, ''),
    coalesce(new.model, ''), 1,
    coalesce(json_extract(new.usage, '$.input_tokens'), 0),
    coalesce(json_extract(new.usage, '$.output_tokens'), 0),
    coalesce(json_extract(new.usage, '$.cached_input_tokens'), 0),
    coalesce(json_extract(new.usage, '$.estimated'), 0))
  ON CONFLICT (conversation_id, provider, model) DO UPDATE SET
    answers = answers + 1,
    input_tokens = input_tokens + excluded.input_tokens,
    output_tokens = output_tokens + excluded.output_tokens,
    cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens,
    estimated_answers = estimated_answers + excluded.estimated_answers;
END;
";

/// Version 6: attachments. A file's bytes are stored once in `blobs`, keyed
/// by their SHA-256, however many messages use them; `attachments` has a row
/// per message and file, with its name and (text files, PDFs) its text,
/// both searched through `attachments_fts`.
pub const SCHEMA_V6: &str = "
CREATE TABLE blobs (
  sha256 TEXT PRIMARY KEY,
  data BLOB NOT NULL,
  size INTEGER NOT NULL,
  created INTEGER NOT NULL
);
CREATE TABLE attachments (
  message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  conversation_id TEXT NOT NULL,
  pos INTEGER NOT NULL,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  mime TEXT NOT NULL,
  sha256 TEXT NOT NULL REFERENCES blobs(sha256),
  text TEXT,
  width INTEGER,
  height INTEGER,
  PRIMARY KEY (message_id, pos)
);
CREATE INDEX attachments_by_conversation ON attachments(conversation_id);
CREATE INDEX attachments_by_blob ON attachments(sha256);
CREATE VIRTUAL TABLE attachments_fts USING fts5(
  name, text, content='attachments', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER attachments_ai AFTER INSERT ON attachments BEGIN
  INSERT INTO attachments_fts(rowid, name, text) VALUES (new.rowid, new.name, new.text);
END;
CREATE TRIGGER attachments_ad AFTER DELETE ON attachments BEGIN
  INSERT INTO attachments_fts(attachments_fts, rowid, name, text) VALUES ('delete', old.rowid, old.name, old.text);
END;
";

/// Version 7: search filters by who answered. Answers stored before
/// version 5 take their conversation's provider and model (what the usage
/// tables already assumed for them), and an index over the answers by
/// provider and model finds the conversations that used one; an index by
/// time bounds a search within dates (`search`'s date probe). `imports`
/// says where an imported conversation came from (its source and its id
/// there): importing the same conversation again adds nothing.
pub const SCHEMA_V7: &str = "
UPDATE messages SET
  provider = (SELECT coalesce(c.provider, '') FROM conversations c WHERE c.id = messages.conversation_id),
  model = (SELECT coalesce(c.model, '') FROM conversations c WHERE c.id = messages.conversation_id)
WHERE role = 'assistant' AND provider IS NULL;
CREATE INDEX answers_by_provider ON messages(provider, conversation_id) WHERE role = 'assistant';
CREATE INDEX answers_by_model ON messages(model, conversation_id) WHERE role = 'assistant';
CREATE INDEX messages_by_created ON messages(created);
CREATE TABLE imports (
  source TEXT NOT NULL,
  source_id TEXT NOT NULL,
  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  imported INTEGER NOT NULL,
  PRIMARY KEY (source, source_id)
);
CREATE INDEX imports_by_conversation ON imports(conversation_id);
";

/// Version 8: branches (see `tree`). Every message gets a parent (user
/// messages had none: the step in Rust gives them one from the versions
/// and positions of version 7) and a `chosen` flag per sibling group; the
/// parent index serves the first messages' group (no parent) too, and an
/// index of the shown messages keeps opening, paging and sending from
/// stepping over hidden branches.
pub const SCHEMA_V8: &str = "
ALTER TABLE messages ADD COLUMN chosen INTEGER NOT NULL DEFAULT 1;
DROP INDEX messages_by_parent;
CREATE INDEX messages_by_parent ON messages(conversation_id, parent_id);
CREATE INDEX messages_shown ON messages(conversation_id, seq) WHERE active = 1;
";

/// Version 9: tool steps, and the tools a conversation switched off
/// (`tools_off`, a JSON array of offered names). An answer that called tools keeps every call
/// (arguments, approval, result, duration) in `tool_steps`, searched
/// through `steps_fts` (each step's tool name, arguments and result: a step is found by
/// any of them).
pub const SCHEMA_V9: &str = "
ALTER TABLE messages ADD COLUMN tool_steps TEXT;
ALTER TABLE conversations ADD COLUMN tools_off TEXT;
CREATE VIRTUAL TABLE steps_fts USING fts5(steps, tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER messages_steps_ai AFTER INSERT ON messages WHEN new.tool_steps IS NOT NULL BEGIN
  INSERT INTO steps_fts(rowid, steps) VALUES (new.rowid, (SELECT group_concat(
    json_extract(value, '$.name') || ' ' || json_extract(value, '$.arguments') || ' ' || json_extract(value, '$.result'), ' ')
    FROM json_each(new.tool_steps)));
END;
CREATE TRIGGER messages_steps_ad AFTER DELETE ON messages WHEN old.tool_steps IS NOT NULL BEGIN
  DELETE FROM steps_fts WHERE rowid = old.rowid;
END;
CREATE TRIGGER messages_steps_au AFTER UPDATE OF tool_steps ON messages BEGIN
  DELETE FROM steps_fts WHERE rowid = old.rowid;
  INSERT INTO steps_fts(rowid, steps) SELECT new.rowid, (SELECT group_concat(
    json_extract(value, '$.name') || ' ' || json_extract(value, '$.arguments') || ' ' || json_extract(value, '$.result'), ' ')
    FROM json_each(new.tool_steps)) WHERE new.tool_steps IS NOT NULL;
END;
";

/// One step forward: its SQL, then, where SQL alone cannot say it, code in
/// the same transaction.
pub(super) struct Migration {
    sql: &'static str,
    then: Option<fn(&rusqlite::Transaction<'_>) -> rusqlite::Result<()>>,
}

const fn sql(sql: &'static str) -> Migration {
    Migration { sql, then: None }
}

pub(super) const MIGRATIONS: &[Migration] = &[
    sql(SCHEMA_V1),
    sql(SCHEMA_V2),
    sql(SCHEMA_V3),
    sql(SCHEMA_V4),
    sql(SCHEMA_V5),
    sql(SCHEMA_V6),
    sql(SCHEMA_V7),
    Migration {
        sql: SCHEMA_V8,
        then: Some(super::tree::migrate_all),
    },
    sql(SCHEMA_V9),
];

impl Store {
    pub(super) fn migrate(&self, from: i32) -> rusqlite::Result<()> {
        let mut conn = self.conn();
        for (i, step) in MIGRATIONS.iter().enumerate() {
            let v = i as i32 + 1;
            if v <= from {
                continue;
            }
            // Another process (the window, the CLI) may have migrated meanwhile:
            // decide inside a write-locked transaction.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let now: i32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if v <= now {
                continue;
            }
            tx.execute_batch(step.sql)?;
            if let Some(then) = step.then {
                then(&tx)?;
            }
            tx.pragma_update(None, "user_version", v)?;
            tx.commit()?;
            tracing::info!(version = v, "migrated the conversation database");
        }
        Ok(())
    }
}

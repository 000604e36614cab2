"""The SQLite schema: the source of truth. FAISS files are a cache rebuilt from `vectors`/`articles`."""

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS articles (
    aid        INTEGER PRIMARY KEY AUTOINCREMENT,
    ext_id     TEXT NOT NULL UNIQUE,          -- the input's id, shown everywhere
    url        TEXT,
    title      TEXT NOT NULL DEFAULT '',
    outlet     TEXT NOT NULL,
    published  TEXT,                          -- ISO-8601 UTC, may be unknown
    ingested   TEXT NOT NULL,
    lang       TEXT NOT NULL DEFAULT 'en',
    text       TEXT NOT NULL,
    text_hash  TEXT NOT NULL,
    copy_of    INTEGER REFERENCES articles(aid) ON DELETE SET NULL,
    story_id   INTEGER,
    version    INTEGER NOT NULL DEFAULT 1,
    vec        BLOB                           -- article vector (title and lead weighted)
);
CREATE INDEX IF NOT EXISTS articles_hash ON articles(text_hash);
CREATE INDEX IF NOT EXISTS articles_url ON articles(url);
CREATE INDEX IF NOT EXISTS articles_outlet ON articles(outlet, published);
CREATE INDEX IF NOT EXISTS articles_published ON articles(published);
CREATE INDEX IF NOT EXISTS articles_story ON articles(story_id);
CREATE INDEX IF NOT EXISTS articles_copy ON articles(copy_of);
CREATE INDEX IF NOT EXISTS articles_with_vec ON articles(aid) WHERE vec IS NOT NULL;  -- FAISS catch-up reads it

-- every version of every article, the current one included (corrections keep their history)
CREATE TABLE IF NOT EXISTS article_versions (
    aid       INTEGER NOT NULL REFERENCES articles(aid) ON DELETE CASCADE,
    version   INTEGER NOT NULL,
    title     TEXT NOT NULL,
    text      TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    published TEXT,
    ingested  TEXT NOT NULL,
    PRIMARY KEY (aid, version)
);

-- one row per distinct sentence text: the same text is embedded once, whoever carries it
CREATE TABLE IF NOT EXISTS vectors (
    vid INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    vec BLOB NOT NULL
);

CREATE TABLE IF NOT EXISTS sentences (
    sid       INTEGER PRIMARY KEY AUTOINCREMENT,
    aid       INTEGER NOT NULL REFERENCES articles(aid) ON DELETE CASCADE,
    position  INTEGER NOT NULL,               -- -1 is the title
    paragraph INTEGER NOT NULL,
    start     INTEGER NOT NULL,
    "end"     INTEGER NOT NULL,
    text      TEXT NOT NULL,
    vid       INTEGER NOT NULL REFERENCES vectors(vid)
);
CREATE INDEX IF NOT EXISTS sentences_aid ON sentences(aid, position);
CREATE INDEX IF NOT EXISTS sentences_vid ON sentences(vid);

CREATE VIRTUAL TABLE IF NOT EXISTS sentences_fts USING fts5(
    text, content='sentences', content_rowid='sid', tokenize='porter unicode61'
);
CREATE TRIGGER IF NOT EXISTS sentences_ai AFTER INSERT ON sentences BEGIN
    INSERT INTO sentences_fts(rowid, text) VALUES (new.sid, new.text);
END;
CREATE TRIGGER IF NOT EXISTS sentences_ad AFTER DELETE ON sentences BEGIN
    INSERT INTO sentences_fts(sentences_fts, rowid, text) VALUES ('delete', old.sid, old.text);
END;

-- MinHash band keys: articles sharing a key are near-copy candidates
CREATE TABLE IF NOT EXISTS copy_bands (key INTEGER NOT NULL, aid INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS copy_bands_key ON copy_bands(key);
CREATE INDEX IF NOT EXISTS copy_bands_aid ON copy_bands(aid);

-- how many articles of an outlet carry each short line: lines recurring there are boilerplate
CREATE TABLE IF NOT EXISTS outlet_lines (
    outlet   TEXT NOT NULL,
    line     TEXT NOT NULL,
    articles INTEGER NOT NULL,
    PRIMARY KEY (outlet, line)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS stories (
    story_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    label      TEXT NOT NULL DEFAULT '',
    first_seen TEXT,
    last_seen  TEXT,
    n_articles INTEGER NOT NULL DEFAULT 0,
    curated    INTEGER NOT NULL DEFAULT 0,    -- an editor's merge/split/label holds
    state      TEXT NOT NULL DEFAULT '{}',    -- the clusterer's running sums (JSON)
    centroid   BLOB
);

-- any change to any story, by any writer, moves meta 'stories_version': a writer that keeps story
-- state in memory between its transactions re-reads it when another writer moved the counter
CREATE TRIGGER IF NOT EXISTS stories_version_ai AFTER INSERT ON stories BEGIN
    UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'stories_version';
END;
CREATE TRIGGER IF NOT EXISTS stories_version_au AFTER UPDATE ON stories BEGIN
    UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'stories_version';
END;
CREATE TRIGGER IF NOT EXISTS stories_version_ad AFTER DELETE ON stories BEGIN
    UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'stories_version';
END;

-- document frequencies for story TF-IDF, kept as articles arrive
CREATE TABLE IF NOT EXISTS terms (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
"""

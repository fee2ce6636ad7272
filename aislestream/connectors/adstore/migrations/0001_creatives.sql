-- Ad creatives: one row per ad request outcome (accepted or rejected), image files beside it.
CREATE TABLE IF NOT EXISTS creatives (
    request_id     TEXT PRIMARY KEY,
    product_id     TEXT NOT NULL,
    spec           TEXT NOT NULL,   -- JSON: shape, colour, palette, layout
    accepted       BOOLEAN NOT NULL,
    scores         TEXT NOT NULL,   -- JSON: aspect -> P(right)
    attempts       INTEGER NOT NULL,
    reasons        TEXT NOT NULL,   -- JSON list; empty when accepted
    image_path     TEXT,
    model_version  TEXT NOT NULL,
    created_at     DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS creatives_product ON creatives (product_id);

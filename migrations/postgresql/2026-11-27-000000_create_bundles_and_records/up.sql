-- One row per accepted bundle: the signed file exactly as received, and where it sits in the chain.
CREATE TABLE bundles (
    sequence BIGINT PRIMARY KEY CHECK (sequence >= 1),
    payload_hash TEXT NOT NULL UNIQUE CHECK (length(payload_hash) = 64),
    dataset TEXT NOT NULL,
    key_id TEXT NOT NULL,
    record_count BIGINT NOT NULL CHECK (record_count >= 0),
    envelope BYTEA NOT NULL,
    imported_at TEXT NOT NULL
);

-- One row per record of a bundle, at its Merkle leaf index; `record` holds its signed bytes.
CREATE TABLE records (
    sequence BIGINT NOT NULL REFERENCES bundles (sequence),
    leaf_index BIGINT NOT NULL CHECK (leaf_index >= 0),
    dataset TEXT NOT NULL,
    code TEXT NOT NULL,
    decision_number TEXT,
    year INTEGER,
    name TEXT NOT NULL,
    county TEXT,
    grade TEXT,
    risk TEXT,
    record TEXT NOT NULL,
    PRIMARY KEY (sequence, leaf_index)
);

CREATE INDEX records_code_idx ON records (code);
CREATE INDEX records_dataset_code_idx ON records (dataset, code);
CREATE INDEX records_year_county_grade_idx ON records (year, county, grade);

"""The store's schema, as the list of steps that built it.

A store records the number of steps applied (``meta.schema_version``); opening it applies the
missing ones in one transaction. Released steps are never edited, only appended to.
"""

from __future__ import annotations

# Each entry upgrades the schema by one version; never edit a released entry, append one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR);
    CREATE SEQUENCE dataset_ids START 1;
    CREATE TABLE datasets (
        id INTEGER PRIMARY KEY,
        name VARCHAR NOT NULL UNIQUE,
        source VARCHAR NOT NULL,
        format VARCHAR NOT NULL,
        encoding VARCHAR,
        file_hash VARCHAR NOT NULL,
        n_rows BIGINT NOT NULL,
        n_cols INTEGER NOT NULL,
        target VARCHAR NOT NULL,
        target_storage VARCHAR NOT NULL,
        task VARCHAR NOT NULL,
        classes JSON NOT NULL,
        test_size DOUBLE NOT NULL,
        split_seed INTEGER NOT NULL,
        n_dev BIGINT NOT NULL,
        n_test BIGINT NOT NULL,
        n_unlabeled BIGINT NOT NULL,
        data_table VARCHAR NOT NULL,
        notes JSON NOT NULL,
        created_at DOUBLE NOT NULL
    );
    CREATE TABLE dataset_columns (
        dataset_id INTEGER NOT NULL,
        position INTEGER NOT NULL,
        name VARCHAR NOT NULL,
        storage VARCHAR NOT NULL,
        sql_type VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        n_missing BIGINT NOT NULL,
        n_distinct BIGINT NOT NULL,
        min VARCHAR,
        max VARCHAR,
        mean DOUBLE,
        std DOUBLE,
        top_values JSON NOT NULL
    );
    CREATE SEQUENCE run_ids START 1;
    CREATE SEQUENCE group_ids START 1;
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        group_id INTEGER NOT NULL,
        dataset_id INTEGER NOT NULL,
        model VARCHAR NOT NULL,
        params JSON NOT NULL,
        folds INTEGER NOT NULL,
        repeats INTEGER NOT NULL,
        seed INTEGER NOT NULL,
        status VARCHAR NOT NULL,
        pid INTEGER,
        host VARCHAR,
        created_at DOUBLE NOT NULL,
        started_at DOUBLE,
        finished_at DOUBLE,
        heartbeat_at DOUBLE,
        duration_s DOUBLE,
        versions JSON NOT NULL,
        dataset_hash VARCHAR NOT NULL,
        folds_hash VARCHAR,
        error VARCHAR,
        warnings JSON NOT NULL DEFAULT '[]'
    );
    CREATE TABLE fold_results (
        run_id INTEGER NOT NULL,
        fold_index INTEGER NOT NULL,
        repeat INTEGER NOT NULL,
        fold INTEGER NOT NULL,
        n_train BIGINT NOT NULL,
        n_val BIGINT NOT NULL,
        fit_time DOUBLE NOT NULL,
        score_time DOUBLE NOT NULL
    );
    CREATE TABLE fold_scores (
        run_id INTEGER NOT NULL,
        fold_index INTEGER NOT NULL,
        metric VARCHAR NOT NULL,
        train DOUBLE,
        validation DOUBLE
    );
    CREATE TABLE glm_summaries (
        run_id INTEGER PRIMARY KEY,
        family VARCHAR NOT NULL,
        link VARCHAR NOT NULL,
        n_obs BIGINT NOT NULL,
        df_model DOUBLE,
        df_resid DOUBLE,
        deviance DOUBLE,
        null_deviance DOUBLE,
        aic DOUBLE,
        llf DOUBLE,
        converged BOOLEAN,
        warnings JSON NOT NULL
    );
    CREATE TABLE glm_coefficients (
        run_id INTEGER NOT NULL,
        position INTEGER NOT NULL,
        label VARCHAR NOT NULL,
        term VARCHAR NOT NULL,
        coef DOUBLE,
        std_err DOUBLE,
        z DOUBLE,
        p DOUBLE,
        ci_low DOUBLE,
        ci_high DOUBLE
    );
    CREATE TABLE curve_points (
        run_id INTEGER NOT NULL,
        curve VARCHAR NOT NULL,
        param VARCHAR NOT NULL,
        x DOUBLE NOT NULL,
        fold_index INTEGER NOT NULL,
        metric VARCHAR NOT NULL,
        train DOUBLE,
        validation DOUBLE
    );
    """,
    # 2: curves keep each setting's label and exact parameter value (x is a position when the
    # values are not all numbers), fit time and error; per-dataset targets; test-set
    # evaluations; hyper-parameter searches (one group of runs each).
    """
    ALTER TABLE curve_points ADD COLUMN label VARCHAR;
    ALTER TABLE curve_points ADD COLUMN value JSON;
    ALTER TABLE curve_points ADD COLUMN fit_time DOUBLE;
    ALTER TABLE curve_points ADD COLUMN error VARCHAR;
    ALTER TABLE curve_points ADD COLUMN created_at DOUBLE;
    CREATE TABLE dataset_targets (
        dataset_id INTEGER PRIMARY KEY,
        metric VARCHAR NOT NULL,
        score DOUBLE NOT NULL,
        note VARCHAR,
        set_at DOUBLE NOT NULL
    );
    CREATE SEQUENCE test_evaluation_ids START 1;
    CREATE TABLE test_evaluations (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL,
        dataset_id INTEGER NOT NULL,
        created_at DOUBLE NOT NULL,
        n_train BIGINT NOT NULL,
        n_test BIGINT NOT NULL,
        fit_time DOUBLE,
        scores JSON NOT NULL,
        warnings JSON NOT NULL
    );
    CREATE TABLE searches (
        group_id INTEGER PRIMARY KEY,
        base_run_id INTEGER NOT NULL,
        grid JSON NOT NULL,
        random INTEGER,
        seed INTEGER NOT NULL,
        metric VARCHAR NOT NULL,
        greater_is_better BOOLEAN NOT NULL,
        created_at DOUBLE NOT NULL
    );
    """,
    # 3: each dataset's last data-quality check (its findings, and the warnings they put on the
    # dataset's scores), so the warnings are there without the user asking.
    """
    CREATE TABLE quality_checks (
        dataset_id INTEGER PRIMARY KEY,
        status VARCHAR NOT NULL,
        checks_version INTEGER NOT NULL,
        pid INTEGER,
        host VARCHAR,
        started_at DOUBLE NOT NULL,
        finished_at DOUBLE,
        findings JSON NOT NULL DEFAULT '[]',
        warnings JSON NOT NULL DEFAULT '[]',
        error VARCHAR
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

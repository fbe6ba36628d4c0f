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
    # 4: out-of-fold predictions (core.store.predictions): one row per (run, repeat, development row),
    # keyed by the data table's __row; a class as its index in datasets.classes, probabilities as
    # one list in that order (NULL when the model has none, and for regression).
    """
    CREATE TABLE fold_predictions (
        run_id INTEGER NOT NULL,
        repeat SMALLINT NOT NULL,
        row_id BIGINT NOT NULL,
        fold SMALLINT NOT NULL,
        label SMALLINT,
        value DOUBLE,
        proba DOUBLE[]
    );
    """,
    # 5: the public query interface (README: "Use the store from other tools"): stable views over the
    # internal tables for `mlloop sql`, `mlloop export-table` and any DuckDB client. Their columns are only
    # ever added to, never renamed; times are UTC timestamps. A dataset's rows get a view of their own
    # (rows_<id>_v, with the file's column names), made by core.store.views at import and after migrating.
    """
    CREATE VIEW datasets_v AS
    SELECT id AS dataset_id, name, 'rows_' || id || '_v' AS rows_view, source, format, encoding, file_hash,
           n_rows, n_cols AS n_columns, target, task, classes, test_size, split_seed, n_dev, n_test, n_unlabeled,
           notes, make_timestamp(CAST(created_at * 1e6 AS BIGINT)) AS created_at
    FROM datasets;
    CREATE VIEW run_metrics_v AS
    SELECT f.run_id, r.dataset_id, r.model, f.metric, avg(f.train) AS train_mean, stddev_samp(f.train) AS train_std,
           avg(f.validation) AS validation_mean, stddev_samp(f.validation) AS validation_std,
           count(f.validation) AS n
    FROM fold_scores f JOIN runs r ON r.id = f.run_id
    GROUP BY f.run_id, r.dataset_id, r.model, f.metric;
    CREATE VIEW runs_v AS
    SELECT r.id AS run_id, r.group_id, r.dataset_id, d.name AS dataset, d.task, r.model, r.params, r.status,
           r.folds AS cv_folds, r.repeats AS cv_repeats, r.seed AS cv_seed, coalesce(f.n, 0) AS folds_done,
           r.folds * r.repeats AS folds_total,
           make_timestamp(CAST(r.created_at * 1e6 AS BIGINT)) AS created_at,
           make_timestamp(CAST(r.started_at * 1e6 AS BIGINT)) AS started_at,
           make_timestamp(CAST(r.finished_at * 1e6 AS BIGINT)) AS finished_at,
           make_timestamp(CAST(r.heartbeat_at * 1e6 AS BIGINT)) AS heartbeat_at, r.duration_s, r.pid, r.host,
           r.versions, r.dataset_hash, r.folds_hash, r.error, r.warnings,
           m.accuracy_validation_mean, m.accuracy_validation_std, m.accuracy_train_mean, m.accuracy_train_std,
           m.balanced_accuracy_validation_mean, m.balanced_accuracy_validation_std, m.balanced_accuracy_train_mean,
           m.balanced_accuracy_train_std, m.f1_macro_validation_mean, m.f1_macro_validation_std, m.f1_macro_train_mean,
           m.f1_macro_train_std, m.roc_auc_validation_mean, m.roc_auc_validation_std, m.roc_auc_train_mean,
           m.roc_auc_train_std, m.log_loss_validation_mean, m.log_loss_validation_std, m.log_loss_train_mean,
           m.log_loss_train_std, m.rmse_validation_mean, m.rmse_validation_std, m.rmse_train_mean, m.rmse_train_std,
           m.mae_validation_mean, m.mae_validation_std, m.mae_train_mean, m.mae_train_std, m.r2_validation_mean,
           m.r2_validation_std, m.r2_train_mean, m.r2_train_std
    FROM runs r JOIN datasets d ON d.id = r.dataset_id
    LEFT JOIN (SELECT run_id, count(*) AS n FROM fold_results GROUP BY run_id) f ON f.run_id = r.id
    LEFT JOIN (
        SELECT run_id,
               max(validation_mean) FILTER (WHERE metric = 'accuracy') AS accuracy_validation_mean,
               max(validation_std) FILTER (WHERE metric = 'accuracy') AS accuracy_validation_std,
               max(train_mean) FILTER (WHERE metric = 'accuracy') AS accuracy_train_mean,
               max(train_std) FILTER (WHERE metric = 'accuracy') AS accuracy_train_std,
               max(validation_mean) FILTER (WHERE metric = 'balanced_accuracy') AS balanced_accuracy_validation_mean,
               max(validation_std) FILTER (WHERE metric = 'balanced_accuracy') AS balanced_accuracy_validation_std,
               max(train_mean) FILTER (WHERE metric = 'balanced_accuracy') AS balanced_accuracy_train_mean,
               max(train_std) FILTER (WHERE metric = 'balanced_accuracy') AS balanced_accuracy_train_std,
               max(validation_mean) FILTER (WHERE metric = 'f1_macro') AS f1_macro_validation_mean,
               max(validation_std) FILTER (WHERE metric = 'f1_macro') AS f1_macro_validation_std,
               max(train_mean) FILTER (WHERE metric = 'f1_macro') AS f1_macro_train_mean,
               max(train_std) FILTER (WHERE metric = 'f1_macro') AS f1_macro_train_std,
               max(validation_mean) FILTER (WHERE metric = 'roc_auc') AS roc_auc_validation_mean,
               max(validation_std) FILTER (WHERE metric = 'roc_auc') AS roc_auc_validation_std,
               max(train_mean) FILTER (WHERE metric = 'roc_auc') AS roc_auc_train_mean,
               max(train_std) FILTER (WHERE metric = 'roc_auc') AS roc_auc_train_std,
               max(validation_mean) FILTER (WHERE metric = 'log_loss') AS log_loss_validation_mean,
               max(validation_std) FILTER (WHERE metric = 'log_loss') AS log_loss_validation_std,
               max(train_mean) FILTER (WHERE metric = 'log_loss') AS log_loss_train_mean,
               max(train_std) FILTER (WHERE metric = 'log_loss') AS log_loss_train_std,
               max(validation_mean) FILTER (WHERE metric = 'rmse') AS rmse_validation_mean,
               max(validation_std) FILTER (WHERE metric = 'rmse') AS rmse_validation_std,
               max(train_mean) FILTER (WHERE metric = 'rmse') AS rmse_train_mean,
               max(train_std) FILTER (WHERE metric = 'rmse') AS rmse_train_std,
               max(validation_mean) FILTER (WHERE metric = 'mae') AS mae_validation_mean,
               max(validation_std) FILTER (WHERE metric = 'mae') AS mae_validation_std,
               max(train_mean) FILTER (WHERE metric = 'mae') AS mae_train_mean,
               max(train_std) FILTER (WHERE metric = 'mae') AS mae_train_std,
               max(validation_mean) FILTER (WHERE metric = 'r2') AS r2_validation_mean,
               max(validation_std) FILTER (WHERE metric = 'r2') AS r2_validation_std,
               max(train_mean) FILTER (WHERE metric = 'r2') AS r2_train_mean,
               max(train_std) FILTER (WHERE metric = 'r2') AS r2_train_std
        FROM run_metrics_v GROUP BY run_id
    ) m ON m.run_id = r.id;
    CREATE VIEW folds_v AS
    SELECT f.run_id, r.dataset_id, r.model, f.fold_index, f.repeat, f.fold, f.n_train, f.n_val AS n_validation,
           f.fit_time, f.score_time
    FROM fold_results f JOIN runs r ON r.id = f.run_id;
    CREATE VIEW fold_scores_v AS
    SELECT s.run_id, r.dataset_id, d.name AS dataset, r.model, s.fold_index, f.repeat, f.fold, s.metric,
           s.train, s.validation
    FROM fold_scores s JOIN runs r ON r.id = s.run_id JOIN datasets d ON d.id = r.dataset_id
    LEFT JOIN fold_results f ON f.run_id = s.run_id AND f.fold_index = s.fold_index;
    CREATE VIEW curves_v AS
    SELECT c.run_id, r.dataset_id, r.model, c.curve, c.param, c.x, c.label, c.value, c.fold_index, c.metric,
           c.train, c.validation, c.fit_time, c.error,
           make_timestamp(CAST(c.created_at * 1e6 AS BIGINT)) AS created_at
    FROM curve_points c JOIN runs r ON r.id = c.run_id;
    CREATE VIEW test_evaluations_v AS
    SELECT t.id AS evaluation_id, t.run_id, t.dataset_id, d.name AS dataset, r.model,
           make_timestamp(CAST(t.created_at * 1e6 AS BIGINT)) AS created_at, t.n_train, t.n_test, t.fit_time, t.scores,
           t.warnings
    FROM test_evaluations t JOIN runs r ON r.id = t.run_id JOIN datasets d ON d.id = t.dataset_id;
    """,
    # 6: model specs (core.modeling.specs): a spec run keeps its spec's text (the only way it is ever
    # re-created) and what it resolved to: {"class": module.qualname, "params": get_params(), JSON-safe}.
    """
    ALTER TABLE runs ADD COLUMN spec VARCHAR;
    ALTER TABLE runs ADD COLUMN estimator JSON;
    """,
    # 7: small datasets' rows share one table (core.store.datasets.SHARED_TABLE): a table per dataset
    # costs a 256 KB block at each checkpoint and slows every open. Values are stored as their text in
    # c0 ... c63 and read back typed (core.store.datasets.data_layout); existing ds_<id> tables stay.
    "CREATE TABLE dataset_rows (dataset_id INTEGER NOT NULL, __row BIGINT NOT NULL, __part VARCHAR NOT NULL, "
    + ", ".join(f"c{i} VARCHAR" for i in range(64))
    + ");",
    # 8: ranking datasets (core.data.ranking) name their group column, whose rows form one query.
    "ALTER TABLE datasets ADD COLUMN group_column VARCHAR;",
    # 9: dataset versions (core.data.versions): a version is a dataset row of its own over its parent's
    # rows (core.store.datasets.data_layout), with its recipe; its dropped and relabeled rows are rows
    # of one edit table, so a version copies no data and adds no table.
    """
    ALTER TABLE datasets ADD COLUMN parent_id INTEGER;
    ALTER TABLE datasets ADD COLUMN recipe JSON;
    CREATE TABLE dataset_edits (dataset_id INTEGER NOT NULL, __row BIGINT NOT NULL, op VARCHAR NOT NULL,
        label VARCHAR, PRIMARY KEY (dataset_id, __row));
    """,
    # 10: column roles (core.data.roles): only 'feature' columns reach a model. Every column stored
    # before was one, but the target and a ranking group, so old runs stay reproducible.
    """
    ALTER TABLE dataset_columns ADD COLUMN role VARCHAR DEFAULT 'feature';
    UPDATE dataset_columns SET role = 'target' WHERE EXISTS (SELECT 1 FROM datasets d
        WHERE d.id = dataset_columns.dataset_id AND d.target_storage = dataset_columns.storage);
    UPDATE dataset_columns SET role = 'ignored' WHERE EXISTS (SELECT 1 FROM datasets d
        WHERE d.id = dataset_columns.dataset_id AND d.group_column = dataset_columns.name);
    """,
    # 11: label review (core.analysis.review): a queue is stored when it is opened (its items as JSON),
    # so opening it again continues where it stopped; each decision is a row, written when it is made.
    """
    CREATE TABLE review_queues (id INTEGER NOT NULL, dataset_id INTEGER NOT NULL, from_run INTEGER,
        items JSON NOT NULL, n_found INTEGER NOT NULL, created_at DOUBLE NOT NULL, finished_at DOUBLE,
        version_id INTEGER);
    CREATE TABLE review_decisions (queue_id INTEGER NOT NULL, dataset_id INTEGER NOT NULL, __row BIGINT NOT NULL,
        decision VARCHAR NOT NULL, label VARCHAR, decided_at DOUBLE NOT NULL, seq INTEGER NOT NULL);
    """,
    # 12: fitting on a sample (core.data.sampling): the run's sample of the development rows as JSON
    # (core.store.run_json); NULL is every row, as for every run stored before.
    "ALTER TABLE runs ADD COLUMN sample JSON;",
    # 13: a dataset imported with --memory keeps it, in bytes, as its runs' memory budget
    # (core.data.sampling.memory_budget); NULL: the default budget, as for every dataset stored before.
    "ALTER TABLE datasets ADD COLUMN memory_limit BIGINT;",
    # 14: a label review of a dataset over the memory budget judges a sample of its development rows
    # (core.analysis.review): that sample as a run's is stored (core.store.run_json); NULL: every row.
    "ALTER TABLE review_queues ADD COLUMN sample JSON;",
)
SCHEMA_VERSION = len(MIGRATIONS)

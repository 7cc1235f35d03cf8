"""Alembic migrations of the run records (runs, steps, attempts, operations). `RunStore` applies
them when it opens a database, so SQLite files and PostgreSQL databases made by older versions
are brought up to date in place."""

"""The database's schema history, as Alembic migrations (storage/schema.py runs them).

versions/ holds one file per schema revision; the first is the schema release 0.1.0
wrote (before the database had a version). A change to storage/tables.py comes with a
new revision here (`alembic revision` with this folder as its script location, or by
hand), and tests/storage/test_migrations.py checks that the two agree.
"""

"""Database plumbing: the engine and sessions, migrations, the hot Core reads and bulk writes."""

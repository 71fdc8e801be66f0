"""Infrastructure below every feature: settings, the database, the error envelope, logging, job rows, migrations."""

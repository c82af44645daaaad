"""Database layer: SQLAlchemy models, engine/session, and the queries the rest asks for."""

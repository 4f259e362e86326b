"""Reading a project's database directly, as tests verify what the store wrote."""

from __future__ import annotations

import sqlite3
from typing import Any


def db_rows(project: Any, sql: str, params: tuple = ()) -> list[tuple]:
    """Read the project's database directly (a second connection), to verify what it holds."""
    conn = sqlite3.connect(project.db_path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()

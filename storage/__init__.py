"""Models, engine and sessions, repositories and migrations. Imports nothing else of ours."""

"""The district's and the province's side: the central PostgreSQL that holds every station's log."""

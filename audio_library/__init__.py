"""The spot catalogue: scan the library folders, analyse each file once, store the spot table.

Modules: `files` (discovery, hashing), `tags` (the only mutagen caller), `analysis` (the only
ffmpeg caller), `verdict` (pure: refusals, gain), `scan` (the pipeline), `catalog` (queries and
operator metadata: the API for the scheduler), `check` (compare catalogue and files), `models`,
`safeio` (only regular files are opened; time limits on every step that may block).
Never imports loa, scheduler, playlists or airtime.
"""

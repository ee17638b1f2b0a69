"""The central schema as ordered, versioned migrations (data, like loa/db.py), and `init`.

Everything lives in the PostgreSQL schema `central` of the database the admin URL names:

- `district`, `station`: who reports; `role_map`: which PostgreSQL role is which station or
  district (what the row-level security policies read, through `station_of`/`district_of`).
- `airtime`: every station's closed rows, keyed by (station, chain_seq), with their chain hash,
  so the central copy verifies exactly as the station's own log does. No foreign key on its
  station: the insert policy admits only the role's own registered station and an import
  checks the bundle's; a per-row key check would cost a sixth of the ingest (BENCHMARKS.md).
- `station_event`: the problems stations report; `station_report`: each station's last
  heartbeat, loa version and schedule (topics with weights, slots with days and lengths).
- `rollup_day` (station, day, topic, kind, status -> plays, seconds, distinct spots) and
  `rollup_spot_day` (the same per spot): kept by a statement trigger on `airtime`, in the
  same transaction as the rows they sum, so no report scans raw rows. The day is the
  station's local day of the row's start (or schedule, for rows that never started). Distinct
  spots over a period = count(DISTINCT spot) of `rollup_spot_day` over its days (a day's
  `spots` cannot be summed across days).

Roles (cluster-wide in PostgreSQL, so named after the database): `<db>_station` and
`<db>_district` are NOLOGIN groups holding the grants; each station and district gets its own
LOGIN role in its group (central.roles). Policies, not loa's code, keep a station to its own
rows: it may INSERT only under its own station id and SELECT only its own rows; no role but the
admin (the owner of the tables) has UPDATE or DELETE.

A migration is never edited once released; a change is a new migration at the end. Each runs
in one transaction with the version recorded in `central.schema_version`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from psycopg import sql

from central.conn import connect, database_name, redact
from central.errors import CentralError, SchemaTooNew


@dataclass(frozen=True)
class Migration:
    version: int
    why: str
    sql: str  # a template: {station_group} and {district_group} are role identifiers


V1 = """
CREATE TABLE central.district (
    code text PRIMARY KEY,
    name text NOT NULL,
    province text
);
CREATE TABLE central.station (
    id text PRIMARY KEY,
    name text NOT NULL,
    district text NOT NULL REFERENCES central.district (code),
    province text,
    timezone text NOT NULL DEFAULT 'Asia/Ho_Chi_Minh',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE central.role_map (
    role_name text PRIMARY KEY,
    station text UNIQUE REFERENCES central.station (id),
    district text REFERENCES central.district (code),
    CHECK ((station IS NULL) <> (district IS NULL))
);
CREATE TABLE central.airtime (
    station text NOT NULL,
    chain_seq bigint NOT NULL CHECK (chain_seq > 0),
    id text NOT NULL,
    slot text,
    kind text NOT NULL,
    topic text,
    spot text,
    title text NOT NULL,
    path text NOT NULL,
    scheduled_at timestamptz,
    started_at timestamptz,
    ended_at timestamptz,
    played_s double precision NOT NULL,
    status text NOT NULL CHECK (status <> 'playing'),
    error text,
    hash text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (station, chain_seq)
);
CREATE TABLE central.station_event (
    station text NOT NULL REFERENCES central.station (id),
    seq bigint NOT NULL,
    at timestamptz NOT NULL,
    level text NOT NULL,
    source text NOT NULL,
    message text NOT NULL,
    PRIMARY KEY (station, seq)
);
CREATE TABLE central.station_report (
    station text PRIMARY KEY REFERENCES central.station (id),
    heartbeat_at timestamptz NOT NULL,
    loa_version text NOT NULL,
    schedule jsonb NOT NULL
);
CREATE TABLE central.rollup_day (
    station text NOT NULL,
    day date NOT NULL,
    topic text NOT NULL,
    kind text NOT NULL,
    status text NOT NULL,
    plays bigint NOT NULL,
    seconds double precision NOT NULL,
    spots integer NOT NULL,
    PRIMARY KEY (station, day, topic, kind, status)
);
CREATE TABLE central.rollup_spot_day (
    station text NOT NULL,
    day date NOT NULL,
    topic text NOT NULL,
    kind text NOT NULL,
    status text NOT NULL,
    spot text NOT NULL,
    plays bigint NOT NULL,
    seconds double precision NOT NULL,
    PRIMARY KEY (station, day, topic, kind, status, spot)
);

CREATE FUNCTION central.station_of(role text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = central, pg_temp
AS $$ SELECT station FROM central.role_map WHERE role_name = role $$;

CREATE FUNCTION central.district_of(role text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = central, pg_temp
AS $$ SELECT district FROM central.role_map WHERE role_name = role $$;

-- The roll-ups of the rows one statement inserted (a batch), as the table owner, so a
-- station's role that may not touch the roll-ups still keeps them right.
CREATE FUNCTION central.rollup_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = central, pg_temp
AS $$
BEGIN
    WITH placed AS (
        SELECT f.station,
               (coalesce(f.started_at, f.scheduled_at)
                    AT TIME ZONE coalesce(st.timezone, 'Asia/Ho_Chi_Minh'))::date AS day,
               coalesce(f.topic, '') AS topic, f.kind, f.status,
               coalesce(f.spot, 'path:' || f.path) AS spot, f.played_s
          FROM fresh f LEFT JOIN central.station st ON st.id = f.station
    ), per_spot AS (
        SELECT station, day, topic, kind, status, spot,
               count(*) AS plays, sum(played_s) AS seconds
          FROM placed GROUP BY station, day, topic, kind, status, spot
    ), spot_rows AS (
        -- xmax = 0: the row was inserted now, so the spot is new for that day (a concurrent
        -- insert of the same key waits, then updates: never counted twice)
        INSERT INTO central.rollup_spot_day AS r
        SELECT * FROM per_spot
        ON CONFLICT (station, day, topic, kind, status, spot) DO UPDATE
           SET plays = r.plays + excluded.plays, seconds = r.seconds + excluded.seconds
        RETURNING r.station, r.day, r.topic, r.kind, r.status, (r.xmax = 0) AS is_new
    ), new_spots AS (
        SELECT station, day, topic, kind, status, count(*) FILTER (WHERE is_new) AS n
          FROM spot_rows GROUP BY station, day, topic, kind, status
    ), per_day AS (
        SELECT station, day, topic, kind, status,
               sum(plays) AS plays, sum(seconds) AS seconds
          FROM per_spot GROUP BY station, day, topic, kind, status
    )
    INSERT INTO central.rollup_day AS d
    SELECT p.station, p.day, p.topic, p.kind, p.status, p.plays, p.seconds, n.n
      FROM per_day p JOIN new_spots n USING (station, day, topic, kind, status)
    ON CONFLICT (station, day, topic, kind, status) DO UPDATE
       SET plays = d.plays + excluded.plays, seconds = d.seconds + excluded.seconds,
           spots = d.spots + excluded.spots;
    RETURN NULL;
END $$;

CREATE TRIGGER airtime_rollup AFTER INSERT ON central.airtime
REFERENCING NEW TABLE AS fresh FOR EACH STATEMENT EXECUTE FUNCTION central.rollup_insert();

-- A station's heartbeat and schedule, under the station of the role that calls.
CREATE FUNCTION central.report_in(p_schedule jsonb, p_version text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = central, pg_temp
AS $$
DECLARE
    me text := central.station_of(session_user);
BEGIN
    IF me IS NULL THEN
        RAISE EXCEPTION 'role % is not a station of this central database', session_user;
    END IF;
    INSERT INTO central.station_report AS r VALUES (me, now(), p_version, p_schedule)
    ON CONFLICT (station) DO UPDATE
       SET heartbeat_at = excluded.heartbeat_at, loa_version = excluded.loa_version,
           schedule = excluded.schedule;
END $$;
REVOKE EXECUTE ON FUNCTION central.report_in(jsonb, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION central.rollup_insert() FROM PUBLIC;

GRANT USAGE ON SCHEMA central TO {station_group}, {district_group};
GRANT SELECT ON central.schema_version TO {station_group}, {district_group};
GRANT SELECT ON central.station, central.district, central.airtime, central.station_event,
    central.station_report, central.rollup_day, central.rollup_spot_day
    TO {station_group}, {district_group};
GRANT INSERT ON central.airtime, central.station_event TO {station_group};
GRANT EXECUTE ON FUNCTION central.report_in(jsonb, text) TO {station_group};

ALTER TABLE central.station ENABLE ROW LEVEL SECURITY;
ALTER TABLE central.airtime ENABLE ROW LEVEL SECURITY;
ALTER TABLE central.station_event ENABLE ROW LEVEL SECURITY;
ALTER TABLE central.station_report ENABLE ROW LEVEL SECURITY;
ALTER TABLE central.rollup_day ENABLE ROW LEVEL SECURITY;
ALTER TABLE central.rollup_spot_day ENABLE ROW LEVEL SECURITY;

CREATE POLICY station_self ON central.station FOR SELECT TO {station_group}
    USING (id = (SELECT central.station_of(current_user)));
CREATE POLICY district_own ON central.station FOR SELECT TO {district_group}
    USING (district = (SELECT central.district_of(current_user)));

CREATE POLICY station_insert ON central.airtime FOR INSERT TO {station_group}
    WITH CHECK (station = (SELECT central.station_of(current_user)));
CREATE POLICY station_read ON central.airtime FOR SELECT TO {station_group}
    USING (station = (SELECT central.station_of(current_user)));
CREATE POLICY district_read ON central.airtime FOR SELECT TO {district_group}
    USING (station IN (SELECT id FROM central.station));

CREATE POLICY station_insert ON central.station_event FOR INSERT TO {station_group}
    WITH CHECK (station = (SELECT central.station_of(current_user)));
CREATE POLICY station_read ON central.station_event FOR SELECT TO {station_group}
    USING (station = (SELECT central.station_of(current_user)));
CREATE POLICY district_read ON central.station_event FOR SELECT TO {district_group}
    USING (station IN (SELECT id FROM central.station));

CREATE POLICY station_read ON central.station_report FOR SELECT TO {station_group}
    USING (station = (SELECT central.station_of(current_user)));
CREATE POLICY district_read ON central.station_report FOR SELECT TO {district_group}
    USING (station IN (SELECT id FROM central.station));

CREATE POLICY station_read ON central.rollup_day FOR SELECT TO {station_group}
    USING (station = (SELECT central.station_of(current_user)));
CREATE POLICY district_read ON central.rollup_day FOR SELECT TO {district_group}
    USING (station IN (SELECT id FROM central.station));
CREATE POLICY station_read ON central.rollup_spot_day FOR SELECT TO {station_group}
    USING (station = (SELECT central.station_of(current_user)));
CREATE POLICY district_read ON central.rollup_spot_day FOR SELECT TO {district_group}
    USING (station IN (SELECT id FROM central.station));
"""

# The ingest (central.ingest) stages each batch by COPY in a temporary table of the station's
# own session: stations need TEMPORARY on the database even where PUBLIC's was revoked.
V2 = """
DO $$ BEGIN
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO {station_group}', current_database());
END $$;
"""

# Version 3 (the district's and the province's reports, `loa central status`): day roll-ups
# are too many for a province's year (10,000 stations x 365 days), so month and year
# roll-ups and the district's spots per month are kept beside them, by statement triggers on
# the day roll-ups (whatever writes those, in the same transaction); the last `loa central
# verify` of each chain; indexes for the events of the last day and the reports' ranges.
V3 = """
CREATE TABLE central.rollup_month (
    station text NOT NULL,
    month date NOT NULL,
    topic text NOT NULL,
    kind text NOT NULL,
    status text NOT NULL,
    plays bigint NOT NULL,
    seconds double precision NOT NULL,
    PRIMARY KEY (station, month, topic, kind, status)
);
CREATE INDEX rollup_month_month ON central.rollup_month (month);
CREATE TABLE central.rollup_year (
    station text NOT NULL,
    year date NOT NULL,
    topic text NOT NULL,
    kind text NOT NULL,
    status text NOT NULL,
    plays bigint NOT NULL,
    seconds double precision NOT NULL,
    PRIMARY KEY (station, year, topic, kind, status)
);
CREATE INDEX rollup_year_year ON central.rollup_year (year);
CREATE TABLE central.district_spot_month (
    district text NOT NULL,
    month date NOT NULL,
    topic text NOT NULL,
    kind text NOT NULL,
    status text NOT NULL,
    spot text NOT NULL,
    PRIMARY KEY (district, month, topic, kind, status, spot)
);
CREATE INDEX district_spot_month_month ON central.district_spot_month (month);
CREATE TABLE central.chain_check (
    station text PRIMARY KEY REFERENCES central.station (id),
    checked_at timestamptz NOT NULL,
    ok boolean NOT NULL,
    rows bigint NOT NULL,
    head text NOT NULL,
    reason text
);
CREATE INDEX station_event_at ON central.station_event (at);
-- which stations share a schedule's topics, without reading each schedule for every report
ALTER TABLE central.station_report ADD COLUMN topics_key text
    GENERATED ALWAYS AS (md5((schedule -> 'topics')::text)) STORED;
CREATE INDEX rollup_day_day ON central.rollup_day (day);
CREATE INDEX rollup_spot_day_day ON central.rollup_spot_day (day);

CREATE FUNCTION central.rollup_month_add() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = central, pg_temp
AS $$
BEGIN
    INSERT INTO central.rollup_month AS m
    SELECT station, date_trunc('month', day)::date, topic, kind, status,
           sum(plays), sum(seconds)
      FROM fresh GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (station, month, topic, kind, status) DO UPDATE
       SET plays = m.plays + excluded.plays, seconds = m.seconds + excluded.seconds;
    INSERT INTO central.rollup_year AS y
    SELECT station, date_trunc('year', day)::date, topic, kind, status,
           sum(plays), sum(seconds)
      FROM fresh GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (station, year, topic, kind, status) DO UPDATE
       SET plays = y.plays + excluded.plays, seconds = y.seconds + excluded.seconds;
    RETURN NULL;
END $$;

CREATE FUNCTION central.rollup_month_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = central, pg_temp
AS $$
BEGIN
    WITH delta AS (
        SELECT station, day, topic, kind, status, plays, seconds FROM fresh
        UNION ALL
        SELECT station, day, topic, kind, status, -plays, -seconds FROM stale
    ), months AS (
        INSERT INTO central.rollup_month AS m
        SELECT station, date_trunc('month', day)::date, topic, kind, status,
               sum(plays), sum(seconds)
          FROM delta GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (station, month, topic, kind, status) DO UPDATE
           SET plays = m.plays + excluded.plays, seconds = m.seconds + excluded.seconds
        RETURNING 1
    )
    INSERT INTO central.rollup_year AS y
    SELECT station, date_trunc('year', day)::date, topic, kind, status,
           sum(plays), sum(seconds)
      FROM delta GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (station, year, topic, kind, status) DO UPDATE
       SET plays = y.plays + excluded.plays, seconds = y.seconds + excluded.seconds;
    RETURN NULL;
END $$;

CREATE FUNCTION central.rollup_month_remove() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = central, pg_temp
AS $$
BEGIN
    UPDATE central.rollup_month m SET plays = m.plays - g.plays, seconds = m.seconds - g.seconds
      FROM (SELECT station, date_trunc('month', day)::date AS month, topic, kind, status,
                   sum(plays) AS plays, sum(seconds) AS seconds
              FROM stale GROUP BY 1, 2, 3, 4, 5) g
     WHERE (m.station, m.month, m.topic, m.kind, m.status)
         = (g.station, g.month, g.topic, g.kind, g.status);
    UPDATE central.rollup_year y SET plays = y.plays - g.plays, seconds = y.seconds - g.seconds
      FROM (SELECT station, date_trunc('year', day)::date AS year, topic, kind, status,
                   sum(plays) AS plays, sum(seconds) AS seconds
              FROM stale GROUP BY 1, 2, 3, 4, 5) g
     WHERE (y.station, y.year, y.topic, y.kind, y.status)
         = (g.station, g.year, g.topic, g.kind, g.status);
    RETURN NULL;
END $$;

CREATE FUNCTION central.district_spot_add() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = central, pg_temp
AS $$
BEGIN
    INSERT INTO central.district_spot_month
    SELECT DISTINCT st.district, date_trunc('month', f.day)::date, f.topic, f.kind, f.status,
           f.spot
      FROM fresh f JOIN central.station st ON st.id = f.station
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

REVOKE EXECUTE ON FUNCTION central.rollup_month_add() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION central.rollup_month_change() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION central.rollup_month_remove() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION central.district_spot_add() FROM PUBLIC;

CREATE TRIGGER rollup_month_add AFTER INSERT ON central.rollup_day
REFERENCING NEW TABLE AS fresh FOR EACH STATEMENT EXECUTE FUNCTION central.rollup_month_add();
CREATE TRIGGER rollup_month_change AFTER UPDATE ON central.rollup_day
REFERENCING OLD TABLE AS stale NEW TABLE AS fresh
FOR EACH STATEMENT EXECUTE FUNCTION central.rollup_month_change();
CREATE TRIGGER rollup_month_remove AFTER DELETE ON central.rollup_day
REFERENCING OLD TABLE AS stale FOR EACH STATEMENT EXECUTE FUNCTION central.rollup_month_remove();
CREATE TRIGGER district_spot_add AFTER INSERT ON central.rollup_spot_day
REFERENCING NEW TABLE AS fresh FOR EACH STATEMENT EXECUTE FUNCTION central.district_spot_add();

-- what the day roll-ups already hold (a database upgraded from an earlier version)
INSERT INTO central.rollup_month
SELECT station, date_trunc('month', day)::date, topic, kind, status, sum(plays), sum(seconds)
  FROM central.rollup_day GROUP BY 1, 2, 3, 4, 5;
INSERT INTO central.rollup_year
SELECT station, date_trunc('year', day)::date, topic, kind, status, sum(plays), sum(seconds)
  FROM central.rollup_day GROUP BY 1, 2, 3, 4, 5;
INSERT INTO central.district_spot_month
SELECT DISTINCT st.district, date_trunc('month', r.day)::date, r.topic, r.kind, r.status, r.spot
  FROM central.rollup_spot_day r JOIN central.station st ON st.id = r.station;

GRANT SELECT ON central.rollup_month, central.rollup_year, central.district_spot_month,
    central.chain_check TO {station_group}, {district_group};
ALTER TABLE central.rollup_month ENABLE ROW LEVEL SECURITY;
ALTER TABLE central.rollup_year ENABLE ROW LEVEL SECURITY;
ALTER TABLE central.district_spot_month ENABLE ROW LEVEL SECURITY;
ALTER TABLE central.chain_check ENABLE ROW LEVEL SECURITY;
CREATE POLICY station_read ON central.rollup_month FOR SELECT TO {station_group}
    USING (station = (SELECT central.station_of(current_user)));
CREATE POLICY district_read ON central.rollup_month FOR SELECT TO {district_group}
    USING (station IN (SELECT id FROM central.station));
CREATE POLICY station_read ON central.rollup_year FOR SELECT TO {station_group}
    USING (station = (SELECT central.station_of(current_user)));
CREATE POLICY district_read ON central.rollup_year FOR SELECT TO {district_group}
    USING (station IN (SELECT id FROM central.station));
CREATE POLICY district_read ON central.district_spot_month FOR SELECT TO {district_group}
    USING (district = (SELECT central.district_of(current_user)));
CREATE POLICY station_read ON central.chain_check FOR SELECT TO {station_group}
    USING (station = (SELECT central.station_of(current_user)));
CREATE POLICY district_read ON central.chain_check FOR SELECT TO {district_group}
    USING (station IN (SELECT id FROM central.station));
"""

# Bulletins sent down (issue 13). A bulletin is the audio (bytes and their SHA-256, as measured
# by the library's own probe at send time), its priority under Thông tư 39/2020, an optional
# topic, a validity window in station-local dates, how often it may air, who sent it (the
# sender's district, NULL for the province/admin) and when it was withdrawn. `bulletin_station`
# addresses it; `bulletin_report` is what each station says of it: delivered, accepted, refused.
# What aired is not here: it is in `airtime` (rows carrying the bulletin's id), as measured.
V4 = """
ALTER TABLE central.airtime ADD COLUMN bulletin text, ADD COLUMN priority text;
CREATE INDEX airtime_bulletin ON central.airtime (bulletin) WHERE bulletin IS NOT NULL;

CREATE TABLE central.bulletin (
    id bigserial PRIMARY KEY,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
    priority text NOT NULL CHECK (priority IN ('thuong', 'uu-tien', 'khan-cap')),
    topic text,
    valid_from date,
    valid_until date,
    times integer CHECK (times > 0),
    filename text NOT NULL,
    audio bytea NOT NULL,
    sha256 text NOT NULL CHECK (length(sha256) = 64),
    size bigint NOT NULL,
    duration_s double precision NOT NULL,
    sender text NOT NULL DEFAULT session_user,
    district text REFERENCES central.district (code)
        DEFAULT central.district_of(session_user),
    created_at timestamptz NOT NULL DEFAULT now(),
    withdrawn_at timestamptz,
    CHECK (valid_until IS NULL OR valid_from IS NULL OR valid_from <= valid_until)
);
CREATE TABLE central.bulletin_station (
    bulletin bigint NOT NULL REFERENCES central.bulletin (id),
    station text NOT NULL REFERENCES central.station (id),
    PRIMARY KEY (bulletin, station)
);
CREATE INDEX bulletin_station_station ON central.bulletin_station (station);
CREATE TABLE central.bulletin_report (
    bulletin bigint NOT NULL REFERENCES central.bulletin (id),
    station text NOT NULL DEFAULT central.station_of(session_user),
    state text NOT NULL CHECK (state IN ('delivered', 'accepted', 'refused')),
    at timestamptz NOT NULL,
    note text,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (bulletin, station, state)
);

-- "something changed" for the stations' LISTEN; they re-read what they may see.
CREATE FUNCTION central.bulletin_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('loa_bulletin', '');
    RETURN NULL;
END $$;
CREATE TRIGGER bulletin_addressed AFTER INSERT ON central.bulletin_station
FOR EACH STATEMENT EXECUTE FUNCTION central.bulletin_changed();
CREATE TRIGGER bulletin_withdrawn AFTER UPDATE OF withdrawn_at ON central.bulletin
FOR EACH STATEMENT EXECUTE FUNCTION central.bulletin_changed();

GRANT SELECT ON central.bulletin, central.bulletin_station, central.bulletin_report
    TO {station_group}, {district_group};
GRANT INSERT ON central.bulletin, central.bulletin_station TO {district_group};
GRANT UPDATE (withdrawn_at) ON central.bulletin TO {district_group};
GRANT USAGE ON SEQUENCE central.bulletin_id_seq TO {district_group};
GRANT INSERT ON central.bulletin_report TO {station_group};

ALTER TABLE central.bulletin ENABLE ROW LEVEL SECURITY;
ALTER TABLE central.bulletin_station ENABLE ROW LEVEL SECURITY;
ALTER TABLE central.bulletin_report ENABLE ROW LEVEL SECURITY;

CREATE FUNCTION central.addressed_to(p_station text) RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = central, pg_temp
AS $$ SELECT bulletin FROM central.bulletin_station WHERE station = p_station $$;
REVOKE EXECUTE ON FUNCTION central.addressed_to(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION central.addressed_to(text) TO {station_group};

-- a station: only the bulletins addressed to it, its own addresses and reports
CREATE POLICY station_read ON central.bulletin FOR SELECT TO {station_group}
    USING (id IN (SELECT central.addressed_to((SELECT central.station_of(current_user)))));
CREATE POLICY station_read ON central.bulletin_station FOR SELECT TO {station_group}
    USING (station = (SELECT central.station_of(current_user)));
CREATE POLICY station_read ON central.bulletin_report FOR SELECT TO {station_group}
    USING (station = (SELECT central.station_of(current_user)));
CREATE POLICY station_insert ON central.bulletin_report FOR INSERT TO {station_group}
    WITH CHECK (station = (SELECT central.station_of(current_user))
                AND bulletin IN (SELECT central.addressed_to(station)));

-- a district: sends as itself, withdraws its own, addresses only its own stations
CREATE POLICY district_read ON central.bulletin FOR SELECT TO {district_group}
    USING (district = (SELECT central.district_of(current_user)));
CREATE POLICY district_send ON central.bulletin FOR INSERT TO {district_group}
    WITH CHECK (district = (SELECT central.district_of(current_user))
                AND sender = session_user);
CREATE POLICY district_withdraw ON central.bulletin FOR UPDATE TO {district_group}
    USING (district = (SELECT central.district_of(current_user)))
    WITH CHECK (district = (SELECT central.district_of(current_user)));
CREATE POLICY district_read ON central.bulletin_station FOR SELECT TO {district_group}
    USING (station IN (SELECT id FROM central.station));
CREATE POLICY district_address ON central.bulletin_station FOR INSERT TO {district_group}
    WITH CHECK (station IN (SELECT id FROM central.station)
                AND bulletin IN (SELECT id FROM central.bulletin));
CREATE POLICY district_read ON central.bulletin_report FOR SELECT TO {district_group}
    USING (station IN (SELECT id FROM central.station));
"""

# Version 6 (issue 12: the province's year in under a second; bulletins counted apart).
# `station_year`: one row per station and year, what the reports need of `rollup_year` for a
# whole year: completed scheduled plays and seconds per topic as three parallel arrays (topic
# order), scheduled plays missed or failed, not completed, completed ad hoc and emergency plays
# and seconds; relayed time left out. A statement trigger on `rollup_year` (INSERT, UPDATE,
# DELETE: its upserts come from the day roll-ups' triggers) recomputes the rows of the station
# years a statement touched, from `rollup_year` itself, in the same transaction, under a lock
# per station year (so two writers of one year never compute from each other's old rows).
# `district_spot_year`: each district's distinct spots per year, from `district_spot_month`.
# `rollup_bulletin_day`: the bulletins' airings (airtime rows carrying a bulletin id) per
# station, local day, bulletin, priority, kind, status and topic, by a statement trigger on
# `airtime` beside the day roll-ups, so a report counts them apart from the station's spots.
# Both are filled from what is already there (a live database upgrades).
V6 = """
CREATE TABLE central.station_year (
    station text NOT NULL,
    year date NOT NULL,
    topics text[] NOT NULL,
    plays bigint[] NOT NULL,
    seconds double precision[] NOT NULL,
    problems bigint NOT NULL,
    undone bigint NOT NULL,
    adhoc bigint NOT NULL,
    adhoc_seconds double precision NOT NULL,
    emergency bigint NOT NULL,
    emergency_seconds double precision NOT NULL,
    PRIMARY KEY (station, year)
);
CREATE INDEX station_year_year ON central.station_year (year);

-- the station_year rows of `keys` (station, year), computed from rollup_year
CREATE FUNCTION central.station_year_rows(keys jsonb) RETURNS SETOF central.station_year
LANGUAGE sql STABLE SET search_path = central, pg_temp
AS $$
    WITH k AS (
        SELECT x ->> 0 AS station, (x ->> 1)::date AS year FROM jsonb_array_elements(keys) x
    ), c AS (
        SELECT r.* FROM central.rollup_year r JOIN k ON r.station = k.station AND r.year = k.year
         WHERE r.kind <> 'relay'
    ), done AS (
        SELECT station, year, topic, sum(plays) AS p, sum(seconds) AS s FROM c
         WHERE status = 'completed' AND kind NOT IN ('adhoc', 'emergency')
         GROUP BY station, year, topic
    ), arr AS (
        SELECT station, year, array_agg(topic ORDER BY topic) AS topics,
               array_agg(p ORDER BY topic) AS plays, array_agg(s ORDER BY topic) AS seconds
          FROM done GROUP BY station, year
    ), rest AS (
        SELECT station, year,
               coalesce(sum(plays) FILTER (WHERE kind NOT IN ('adhoc', 'emergency')
                                             AND status IN ('missed', 'failed')), 0) AS problems,
               coalesce(sum(plays) FILTER (WHERE kind NOT IN ('adhoc', 'emergency')
                          AND status IN ('interrupted', 'failed', 'missed')), 0) AS undone,
               coalesce(sum(plays) FILTER (WHERE status = 'completed' AND kind = 'adhoc'), 0) AS ah,
               coalesce(sum(seconds) FILTER (WHERE status = 'completed' AND kind = 'adhoc'), 0)
                 AS ah_s,
               coalesce(sum(plays) FILTER (WHERE status = 'completed' AND kind = 'emergency'), 0)
                 AS em,
               coalesce(sum(seconds) FILTER (WHERE status = 'completed' AND kind = 'emergency'),
                        0) AS em_s
          FROM c GROUP BY station, year
    )
    SELECT r.station, r.year, coalesce(a.topics, '{{}}'), coalesce(a.plays, '{{}}')::bigint[],
           coalesce(a.seconds, '{{}}'), r.problems::bigint, r.undone::bigint, r.ah::bigint,
           r.ah_s, r.em::bigint, r.em_s
      FROM rest r LEFT JOIN arr a ON a.station = r.station AND a.year = r.year
$$;

CREATE FUNCTION central.station_year_refresh() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = central, pg_temp
AS $$
DECLARE
    keys jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT jsonb_agg(DISTINCT jsonb_build_array(station, year)) INTO keys FROM fresh;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT jsonb_agg(DISTINCT jsonb_build_array(station, year)) INTO keys FROM stale;
    ELSE
        SELECT jsonb_agg(DISTINCT jsonb_build_array(station, year)) INTO keys
          FROM (SELECT station, year FROM fresh UNION SELECT station, year FROM stale) u;
    END IF;
    IF keys IS NULL THEN
        RETURN NULL;
    END IF;
    -- one writer of a station year at a time, in one order; the statements below then see
    -- what an earlier writer committed (a fresh snapshot each)
    PERFORM pg_advisory_xact_lock(hashtext('loa-station-year:' || (x ->> 0) || (x ->> 1)))
       FROM (SELECT x FROM jsonb_array_elements(keys) x ORDER BY x ->> 0, x ->> 1) o;
    DELETE FROM central.station_year y
     USING jsonb_array_elements(keys) x
     WHERE y.station = x ->> 0 AND y.year = (x ->> 1)::date;
    INSERT INTO central.station_year SELECT * FROM central.station_year_rows(keys);
    RETURN NULL;
END $$;
REVOKE EXECUTE ON FUNCTION central.station_year_refresh() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION central.station_year_rows(jsonb) FROM PUBLIC;

CREATE TRIGGER station_year_insert AFTER INSERT ON central.rollup_year
REFERENCING NEW TABLE AS fresh
FOR EACH STATEMENT EXECUTE FUNCTION central.station_year_refresh();
CREATE TRIGGER station_year_update AFTER UPDATE ON central.rollup_year
REFERENCING OLD TABLE AS stale NEW TABLE AS fresh
FOR EACH STATEMENT EXECUTE FUNCTION central.station_year_refresh();
CREATE TRIGGER station_year_delete AFTER DELETE ON central.rollup_year
REFERENCING OLD TABLE AS stale
FOR EACH STATEMENT EXECUTE FUNCTION central.station_year_refresh();

INSERT INTO central.station_year
SELECT * FROM central.station_year_rows(
    (SELECT coalesce(jsonb_agg(jsonb_build_array(station, year)), '[]')
       FROM (SELECT DISTINCT station, year FROM central.rollup_year) k));

CREATE TABLE central.rollup_bulletin_day (
    station text NOT NULL,
    day date NOT NULL,
    bulletin text NOT NULL,
    priority text NOT NULL,
    kind text NOT NULL,
    status text NOT NULL,
    topic text NOT NULL,
    plays bigint NOT NULL,
    seconds double precision NOT NULL,
    PRIMARY KEY (station, day, bulletin, priority, kind, status, topic)
);
CREATE INDEX rollup_bulletin_day_day ON central.rollup_bulletin_day (day);

CREATE FUNCTION central.rollup_bulletin_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = central, pg_temp
AS $$
BEGIN
    INSERT INTO central.rollup_bulletin_day AS b
    SELECT f.station,
           (coalesce(f.started_at, f.scheduled_at)
                AT TIME ZONE coalesce(st.timezone, 'Asia/Ho_Chi_Minh'))::date,
           f.bulletin, coalesce(f.priority, ''), f.kind, f.status, coalesce(f.topic, ''),
           count(*), sum(f.played_s)
      FROM fresh f LEFT JOIN central.station st ON st.id = f.station
     WHERE f.bulletin IS NOT NULL
     GROUP BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (station, day, bulletin, priority, kind, status, topic) DO UPDATE
       SET plays = b.plays + excluded.plays, seconds = b.seconds + excluded.seconds;
    RETURN NULL;
END $$;
REVOKE EXECUTE ON FUNCTION central.rollup_bulletin_insert() FROM PUBLIC;
CREATE TRIGGER airtime_bulletin_rollup AFTER INSERT ON central.airtime
REFERENCING NEW TABLE AS fresh
FOR EACH STATEMENT EXECUTE FUNCTION central.rollup_bulletin_insert();

INSERT INTO central.rollup_bulletin_day
SELECT a.station,
       (coalesce(a.started_at, a.scheduled_at)
            AT TIME ZONE coalesce(st.timezone, 'Asia/Ho_Chi_Minh'))::date,
       a.bulletin, coalesce(a.priority, ''), a.kind, a.status, coalesce(a.topic, ''),
       count(*), sum(a.played_s)
  FROM central.airtime a LEFT JOIN central.station st ON st.id = a.station
 WHERE a.bulletin IS NOT NULL
 GROUP BY 1, 2, 3, 4, 5, 6, 7;

-- each district's distinct spots per year (what a whole year's report counts), kept from the
-- month's by a statement trigger on it
CREATE TABLE central.district_spot_year (
    district text NOT NULL,
    year date NOT NULL,
    topic text NOT NULL,
    kind text NOT NULL,
    status text NOT NULL,
    spot text NOT NULL,
    PRIMARY KEY (district, year, topic, kind, status, spot)
);
CREATE INDEX district_spot_year_year ON central.district_spot_year (year);
CREATE FUNCTION central.district_spot_year_add() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = central, pg_temp
AS $$
BEGIN
    INSERT INTO central.district_spot_year
    SELECT DISTINCT district, date_trunc('year', month)::date, topic, kind, status, spot
      FROM fresh
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
REVOKE EXECUTE ON FUNCTION central.district_spot_year_add() FROM PUBLIC;
CREATE TRIGGER district_spot_year_add AFTER INSERT ON central.district_spot_month
REFERENCING NEW TABLE AS fresh
FOR EACH STATEMENT EXECUTE FUNCTION central.district_spot_year_add();
INSERT INTO central.district_spot_year
SELECT DISTINCT district, date_trunc('year', month)::date, topic, kind, status, spot
  FROM central.district_spot_month;

GRANT SELECT ON central.station_year, central.rollup_bulletin_day, central.district_spot_year
    TO {station_group}, {district_group};
ALTER TABLE central.district_spot_year ENABLE ROW LEVEL SECURITY;
CREATE POLICY district_read ON central.district_spot_year FOR SELECT TO {district_group}
    USING (district = (SELECT central.district_of(current_user)));
ALTER TABLE central.station_year ENABLE ROW LEVEL SECURITY;
ALTER TABLE central.rollup_bulletin_day ENABLE ROW LEVEL SECURITY;
CREATE POLICY station_read ON central.station_year FOR SELECT TO {station_group}
    USING (station = (SELECT central.station_of(current_user)));
CREATE POLICY district_read ON central.station_year FOR SELECT TO {district_group}
    USING (station IN (SELECT id FROM central.station));
CREATE POLICY station_read ON central.rollup_bulletin_day FOR SELECT TO {station_group}
    USING (station = (SELECT central.station_of(current_user)));
CREATE POLICY district_read ON central.rollup_bulletin_day FOR SELECT TO {district_group}
    USING (station IN (SELECT id FROM central.station));
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "stations, districts, roles, airtime, events, reports, day roll-ups, RLS", V1),
    Migration(2, "stations may create temporary tables (the ingest's COPY staging)", V2),
    Migration(3, "month and year roll-ups, district spots, chain checks, report indexes", V3),
    Migration(4, "bulletins sent down to stations, their addresses and the stations' reports", V4),
    Migration(6, "a summary row per station and year; bulletins' airings rolled up apart", V6),
)


def latest_version(migrations: Sequence[Migration] = MIGRATIONS) -> int:
    return max(m.version for m in migrations)


def group_roles(dbname: str) -> tuple[str, str]:
    """(station group, district group) of the central database `dbname`."""
    return f"{dbname}_station", f"{dbname}_district"


def current_version(conn: psycopg.Connection) -> int:
    found = conn.execute("SELECT to_regclass('central.schema_version')").fetchone()
    if found is None or found[0] is None:
        return 0
    row = conn.execute("SELECT max(version) FROM central.schema_version").fetchone()
    return int(row[0] or 0) if row else 0


def check_version(conn: psycopg.Connection, url: str) -> int:
    """The schema's version; CentralError if there is none, SchemaTooNew if it is newer."""
    version = current_version(conn)
    if version == 0:
        raise CentralError(
            f"{redact(url)}: no loa central schema in this database: run `loa central init`"
        )
    if version > latest_version():
        raise SchemaTooNew(too_new(url, version))
    return version


def too_new(url: str, version: int) -> str:
    return (
        f"{redact(url)}: the central schema has version {version}, newer than this loa knows "
        f"({latest_version()}): install the newer loa that made it"
    )


def _applied(conn: psycopg.Connection) -> set[int]:
    """The versions recorded (a gap in the numbers is applied later, in order)."""
    return {int(r[0]) for r in conn.execute("SELECT version FROM central.schema_version")}


def _ensure_group(conn: psycopg.Connection, role: str) -> None:
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    if not exists:
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))


def init(url: str, migrations: Sequence[Migration] = MIGRATIONS) -> tuple[int, int]:
    """Create or migrate the central schema; returns (version before, version now)."""
    latest = latest_version(migrations)
    station_group, district_group = group_roles(database_name(url))
    with connect(url) as conn:
        try:
            # one init at a time on this database
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('loa-central-init'))")
            before = current_version(conn)
            if before > latest:
                raise SchemaTooNew(too_new(url, before))
            conn.execute("CREATE SCHEMA IF NOT EXISTS central")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS central.schema_version ("
                " version integer PRIMARY KEY, why text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            for role in (station_group, district_group):
                _ensure_group(conn, role)
            names = {
                "station_group": sql.Identifier(station_group).as_string(conn),
                "district_group": sql.Identifier(district_group).as_string(conn),
            }
            applied = _applied(conn)
            for m in sorted(migrations, key=lambda m: m.version):
                if m.version in applied:
                    continue
                conn.execute(m.sql.format(**names).encode())
                conn.execute(
                    "INSERT INTO central.schema_version (version, why) VALUES (%s, %s)",
                    (m.version, m.why),
                )
            conn.commit()
        except psycopg.errors.InsufficientPrivilege as exc:
            raise CentralError(
                f"{redact(url)}: this role may not create the central schema or its roles "
                f"({exc.diag.message_primary}): use the database owner with CREATEROLE"
            ) from None
    return before, latest

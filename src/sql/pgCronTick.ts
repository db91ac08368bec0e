import { DEFAULT_MAX_PAYLOAD_BYTES, KEY_MAX_CHARS, MAX_ATTEMPTS_MAX, PRIORITY_MAX, PRIORITY_MIN, QUEUE_NAME_MAX_CHARS, TASK_PATH_MAX_CHARS } from '../limits.ts';

/**
 * What `reproq pg-cron --install` creates: a beat tick that Postgres runs itself, scheduled once
 * (every minute) through pg_cron. It does what `beat()` does with the default misfire policy
 * (upstream's: one run at the stale next_run_at, then the first cron time after now), so
 * `periodic_tasks` stays the only source of truth: schedules written by CRUD, sync-recurring or
 * the Django admin take effect at the next tick without reinstalling anything.
 *
 * Each function is one statement. They are created with `SET search_path FROM CURRENT`, so the
 * job finds the install's tables whatever the cron job's session has.
 *
 * - reproq_cron_field: one cron field to its set of values, with upstream's rules (names, `?`,
 *   `N/step` to the maximum, bounds); raises on anything else.
 * - reproq_cron_next: the first run strictly after a time, honouring `TZ=`/`CRON_TZ=`, walking
 *   days in local time (at most five years, as robfig does), NULL when it never fires.
 * - reproq_go_json / reproq_go_string: jsonb as Go's `json.Marshal` writes it (compact, jsonb key
 *   order, `< > & U+2028 U+2029` escaped), so the spec bytes and spec_hash are the Go beat's and
 *   the TS beat's for the same tick (dedup holds across all three).
 * - reproq_pg_cron_tick: the tick. Rows are locked with SKIP LOCKED, each in its own
 *   subtransaction: a row the TS beat would refuse (the same column rules and bounds, including
 *   NULLs a hand-made table allows), or one whose run the database refuses, is left due and
 *   logged as a WARNING naming the column; the others proceed. It returns the rows it advanced. Upstream's pg_cron function compared `spec_hash = spec_hash` against a
 *   PL/pgSQL variable of the same name (an ambiguity error at first run); every variable here is
 *   `v_`-prefixed and every column qualified.
 */
export const PG_CRON_FUNCTIONS: readonly string[] = [
  `
CREATE OR REPLACE FUNCTION reproq_cron_field(p_field text, p_lo int, p_hi int, p_names text[])
RETURNS int[] LANGUAGE plpgsql IMMUTABLE SET search_path FROM CURRENT AS $fn$
DECLARE
  v_item text; v_range text; v_step int; v_ends text[]; v_a int; v_b int; v_k int; v_v text;
  v_out int[] := '{}';
BEGIN
  FOREACH v_item IN ARRAY string_to_array(p_field, ',') LOOP
    IF v_item !~ '^([*?]|[A-Za-z0-9]+(-[A-Za-z0-9]+)?)(/[0-9]+)?$' THEN
      RAISE EXCEPTION 'invalid cron field item "%"', v_item;
    END IF;
    v_range := split_part(v_item, '/', 1);
    v_step := CASE WHEN position('/' IN v_item) > 0 THEN split_part(v_item, '/', 2)::int END;
    IF v_step IS NOT NULL AND v_step < 1 THEN RAISE EXCEPTION 'cron step must be positive in "%"', v_item; END IF;
    IF v_range IN ('*', '?') THEN
      v_a := p_lo; v_b := p_hi;
    ELSE
      v_ends := string_to_array(v_range, '-');
      FOR v_k IN 1 .. array_length(v_ends, 1) LOOP
        v_v := lower(v_ends[v_k]);
        IF v_v ~ '^[0-9]+$' THEN
          v_ends[v_k] := v_v;
        ELSIF array_position(p_names, v_v) IS NOT NULL THEN
          v_ends[v_k] := (array_position(p_names, v_v) - 1 + p_lo)::text;
        ELSE
          RAISE EXCEPTION 'invalid cron value "%"', v_ends[v_k];
        END IF;
      END LOOP;
      v_a := v_ends[1]::int;
      v_b := CASE WHEN array_length(v_ends, 1) = 2 THEN v_ends[2]::int WHEN v_step IS NOT NULL THEN p_hi ELSE v_a END;
      IF v_a < p_lo OR v_b > p_hi OR v_a > v_b THEN
        RAISE EXCEPTION 'cron range "%" is outside %-%', v_item, p_lo, p_hi;
      END IF;
    END IF;
    v_out := v_out || ARRAY(SELECT generate_series(v_a, v_b, COALESCE(v_step, 1)));
  END LOOP;
  RETURN ARRAY(SELECT DISTINCT x FROM unnest(v_out) AS x ORDER BY x);
END
$fn$`,
  `
CREATE OR REPLACE FUNCTION reproq_cron_next(p_expr text, p_after timestamptz)
RETURNS timestamptz LANGUAGE plpgsql STABLE SET search_path FROM CURRENT AS $fn$
DECLARE
  v_tz text := 'UTC'; v_rest text := btrim(p_expr); v_f text[];
  v_min int[]; v_hour int[]; v_dom int[]; v_mon int[]; v_dow int[]; v_dom_star bool; v_dow_star bool;
  v_start timestamp; v_day date; v_h int; v_m int; v_cand timestamptz; v_first bool := true;
BEGIN
  IF v_rest ~ '^(CRON_TZ|TZ)=' THEN
    v_tz := substring(v_rest FROM '^(?:CRON_TZ|TZ)=(\\S+)');
    v_rest := btrim(regexp_replace(v_rest, '^\\S+', ''));
    PERFORM now() AT TIME ZONE v_tz; -- raises on an unknown zone
  END IF;
  v_f := regexp_split_to_array(v_rest, '\\s+');
  IF v_rest = '' OR array_length(v_f, 1) <> 5 THEN
    RAISE EXCEPTION 'cron expression "%" must have 5 fields', p_expr;
  END IF;
  v_min := reproq_cron_field(v_f[1], 0, 59, '{}');
  v_hour := reproq_cron_field(v_f[2], 0, 23, '{}');
  v_dom := reproq_cron_field(v_f[3], 1, 31, '{}');
  v_mon := reproq_cron_field(v_f[4], 1, 12, '{jan,feb,mar,apr,may,jun,jul,aug,sep,oct,nov,dec}');
  v_dow := reproq_cron_field(v_f[5], 0, 6, '{sun,mon,tue,wed,thu,fri,sat}');
  -- A * or ? item (or */1) anywhere in the field leaves the day rule to the other field, as in
  -- robfig; when both are restricted, either may match.
  v_dom_star := v_f[3] ~ '(^|,)[*?](/1)?(,|$)';
  v_dow_star := v_f[5] ~ '(^|,)[*?](/1)?(,|$)';
  v_start := date_trunc('minute', p_after AT TIME ZONE v_tz) + interval '1 minute';
  v_day := v_start::date;
  WHILE v_day <= v_start::date + 366 * 5 LOOP
    IF extract(month FROM v_day)::int = ANY (v_mon) AND (
         CASE WHEN v_dom_star OR v_dow_star
              THEN extract(day FROM v_day)::int = ANY (v_dom) AND extract(dow FROM v_day)::int = ANY (v_dow)
              ELSE extract(day FROM v_day)::int = ANY (v_dom) OR extract(dow FROM v_day)::int = ANY (v_dow) END) THEN
      FOREACH v_h IN ARRAY v_hour LOOP
        CONTINUE WHEN v_first AND v_h < extract(hour FROM v_start);
        FOREACH v_m IN ARRAY v_min LOOP
          CONTINUE WHEN v_first AND v_h = extract(hour FROM v_start) AND v_m < extract(minute FROM v_start);
          v_cand := (v_day + make_interval(hours => v_h, mins => v_m)) AT TIME ZONE v_tz;
          IF v_cand > p_after THEN RETURN v_cand; END IF;
        END LOOP;
      END LOOP;
    END IF;
    v_first := false;
    v_day := v_day + 1;
  END LOOP;
  RETURN NULL;
END
$fn$`,
  `
CREATE OR REPLACE FUNCTION reproq_go_string(p_s text)
RETURNS text LANGUAGE sql IMMUTABLE SET search_path FROM CURRENT AS $fn$
  SELECT replace(replace(replace(replace(replace(to_json(p_s)::text,
    '&', '\\u0026'), '<', '\\u003c'), '>', '\\u003e'), U&'\\2028', '\\u2028'), U&'\\2029', '\\u2029')
$fn$`,
  `
CREATE OR REPLACE FUNCTION reproq_go_json(p_v jsonb)
RETURNS text LANGUAGE plpgsql IMMUTABLE SET search_path FROM CURRENT AS $fn$
BEGIN
  RETURN CASE jsonb_typeof(p_v)
    WHEN 'object' THEN '{' || COALESCE((
      SELECT string_agg(reproq_go_string(e.key) || ':' || reproq_go_json(e.value), ',' ORDER BY e.ord)
      FROM jsonb_each(p_v) WITH ORDINALITY AS e(key, value, ord)), '') || '}'
    WHEN 'array' THEN '[' || COALESCE((
      SELECT string_agg(reproq_go_json(e.value), ',' ORDER BY e.ord)
      FROM jsonb_array_elements(p_v) WITH ORDINALITY AS e(value, ord)), '') || ']'
    WHEN 'string' THEN reproq_go_string(p_v #>> '{}')
    ELSE p_v::text
  END;
END
$fn$`,
  `
CREATE OR REPLACE FUNCTION reproq_pg_cron_tick()
RETURNS integer LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
DECLARE
  v_task periodic_tasks%ROWTYPE;
  v_payload jsonb; v_args jsonb; v_kwargs jsonb; v_queue text; v_attempts int;
  v_spec text; v_hash text; v_next timestamptz; v_done integer := 0;
BEGIN
  FOR v_task IN
    SELECT * FROM periodic_tasks p WHERE p.enabled AND (p.next_run_at <= now() OR p.next_run_at IS NULL)
    ORDER BY p.next_run_at NULLS FIRST, p.name FOR UPDATE SKIP LOCKED
  LOOP
    BEGIN
      -- The TS beat's row rules (src/beat.ts), with the same bounds (src/limits.ts).
      IF v_task.next_run_at IS NULL THEN RAISE EXCEPTION 'next_run_at: is NULL: the task is never due'; END IF;
      IF v_task.next_run_at < '0001-01-01T00:00:00Z' THEN
        RAISE EXCEPTION 'next_run_at: % is not a time a run can be scheduled at', v_task.next_run_at;
      END IF;
      IF v_task.cron_expr IS NULL THEN RAISE EXCEPTION 'cron_expr: is NULL'; END IF;
      IF v_task.task_path IS NULL THEN RAISE EXCEPTION 'task_path: is NULL'; END IF;
      IF v_task.task_path !~ '[^ \t\n\r\f\v]' THEN RAISE EXCEPTION 'task_path: is empty'; END IF;
      IF char_length(v_task.task_path) > ${TASK_PATH_MAX_CHARS} THEN RAISE EXCEPTION 'task_path: is longer than ${TASK_PATH_MAX_CHARS} characters'; END IF;
      IF v_task.queue_name IS NULL THEN RAISE EXCEPTION 'queue_name: is NULL'; END IF;
      IF char_length(v_task.queue_name) > ${QUEUE_NAME_MAX_CHARS} THEN RAISE EXCEPTION 'queue_name: is longer than ${QUEUE_NAME_MAX_CHARS} characters'; END IF;
      IF v_task.priority IS NULL THEN RAISE EXCEPTION 'priority: is NULL'; END IF;
      IF v_task.priority NOT BETWEEN ${PRIORITY_MIN} AND ${PRIORITY_MAX} THEN RAISE EXCEPTION 'priority: % is outside ${PRIORITY_MIN}..${PRIORITY_MAX}', v_task.priority; END IF;
      IF v_task.max_attempts IS NULL THEN RAISE EXCEPTION 'max_attempts: is NULL'; END IF;
      IF v_task.max_attempts > ${MAX_ATTEMPTS_MAX} THEN RAISE EXCEPTION 'max_attempts: is above ${MAX_ATTEMPTS_MAX}'; END IF;
      IF v_task.concurrency_limit IS NULL THEN RAISE EXCEPTION 'concurrency_limit: is NULL'; END IF;
      IF v_task.concurrency_limit < 0 THEN RAISE EXCEPTION 'concurrency_limit: is negative'; END IF;
      IF char_length(v_task.concurrency_key) > ${KEY_MAX_CHARS} THEN RAISE EXCEPTION 'concurrency_key: is longer than ${KEY_MAX_CHARS} characters'; END IF;
      v_payload := v_task.payload_json;
      IF v_payload IS NULL THEN RAISE EXCEPTION 'payload_json: is NULL'; END IF;
      IF jsonb_typeof(v_payload) = 'object' AND (v_payload ? 'args' OR v_payload ? 'kwargs') THEN
        v_args := COALESCE(v_payload -> 'args', '[]'::jsonb);
        v_kwargs := COALESCE(v_payload -> 'kwargs', '{}'::jsonb);
        IF jsonb_typeof(v_args) NOT IN ('array', 'null') THEN RAISE EXCEPTION 'payload_json: invalid periodic args'; END IF;
        IF jsonb_typeof(v_kwargs) NOT IN ('object', 'null') THEN RAISE EXCEPTION 'payload_json: invalid periodic kwargs'; END IF;
      ELSIF jsonb_typeof(v_payload) IN ('array', 'null') THEN
        v_args := v_payload; v_kwargs := '{}'::jsonb;
      ELSIF jsonb_typeof(v_payload) = 'object' THEN
        v_args := '[]'::jsonb; v_kwargs := v_payload;
      ELSE
        RAISE EXCEPTION 'payload_json: invalid payload JSON';
      END IF;
      v_queue := COALESCE(NULLIF(v_task.queue_name, ''), 'default');
      v_attempts := CASE WHEN v_task.max_attempts <= 0 THEN 3 ELSE v_task.max_attempts END;
      v_spec := '{"task_path":' || reproq_go_string(v_task.task_path)
        || ',"args":' || reproq_go_json(v_args)
        || ',"kwargs":' || reproq_go_json(v_kwargs)
        || ',"queue_name":' || reproq_go_string(v_queue)
        || ',"priority":' || v_task.priority
        || ',"concurrency_key":' || COALESCE(reproq_go_string(v_task.concurrency_key), 'null')
        || ',"concurrency_limit":' || v_task.concurrency_limit
        || ',"periodic_name":' || reproq_go_string(v_task.name)
        || ',"scheduled_at":"' || to_char(v_task.next_run_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
        || '","exec":{"timeout_seconds":900,"max_attempts":' || v_attempts || '}}';
      IF octet_length(v_spec) > ${DEFAULT_MAX_PAYLOAD_BYTES} THEN
        RAISE EXCEPTION 'payload_json: the run''s spec would be % bytes, over the ${DEFAULT_MAX_PAYLOAD_BYTES}-byte payload limit', octet_length(v_spec);
      END IF;
      v_hash := encode(sha256(convert_to(v_spec, 'UTF8')), 'hex');
      BEGIN
        v_next := reproq_cron_next(v_task.cron_expr, now());
      EXCEPTION WHEN OTHERS THEN
        RAISE EXCEPTION 'cron_expr: %', SQLERRM;
      END;
      IF v_next IS NULL THEN RAISE EXCEPTION 'cron_expr: "%" never fires', v_task.cron_expr; END IF;

      INSERT INTO task_runs AS tr (
        backend_alias, queue_name, priority, run_after, spec_json, spec_hash, task_path, status,
        enqueued_at, attempts, max_attempts, timeout_seconds, concurrency_key, concurrency_limit,
        wait_count, worker_ids, errors_json, cancel_requested, created_at, updated_at)
      VALUES (
        'default', v_queue, v_task.priority, v_task.next_run_at, v_spec::jsonb, v_hash, v_task.task_path, 'READY',
        now(), 0, v_attempts, 900, v_task.concurrency_key, v_task.concurrency_limit,
        0, '[]'::jsonb, '[]'::jsonb, FALSE, now(), now())
      ON CONFLICT (spec_hash) WHERE status IN ('READY', 'RUNNING') DO NOTHING;

      UPDATE periodic_tasks p
      SET last_run_at = v_task.next_run_at, next_run_at = v_next, updated_at = now()
      WHERE p.name = v_task.name;
      v_done := v_done + 1;
    EXCEPTION WHEN OTHERS THEN
      RAISE WARNING 'reproq: periodic task % left due: %', v_task.name, SQLERRM;
    END;
  END LOOP;
  RETURN v_done;
END
$fn$`,
];

/** Everything `--remove` drops, in dependency order. */
export const PG_CRON_FUNCTION_SIGNATURES = [
  'reproq_pg_cron_tick()',
  'reproq_go_json(jsonb)',
  'reproq_go_string(text)',
  'reproq_cron_next(text, timestamptz)',
  'reproq_cron_field(text, int, int, text[])',
] as const;

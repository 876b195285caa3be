-- 0001 baseline: tables, indexes and the stored procedures of the provider contract.
--
-- Conventions (see migrations/README.md):
-- * @SCHEMA@ is replaced by the runner with the validated, quoted schema name; every name is
--   schema-qualified, so the functions work whatever the caller's search_path is.
-- * Every time is epoch milliseconds (BIGINT) supplied by the application clock (p_now_ms).
--   Timestamp columns are NOT NULL without defaults. The database clock is only used to
--   measure time spent waiting inside a call (wait_ms), never as an absolute time.
-- * Every provider operation is one function call returning JSONB (or NULL).
-- * Errors use project SQLSTATEs of class DX: DX001 invalid lock token, DX002 lock expired,
--   DX004 not found, DX005 instance running, DX006 orphan detected, DX007 not a root,
--   DX010 invalid argument.

-- ---------------------------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------------------------

-- One row per orchestration instance; created only by ack_orchestration_item from metadata.
create table @SCHEMA@.instances (
  instance_id text primary key,
  orchestration_name text not null,
  orchestration_version text, -- NULL reads back as 'unknown'
  current_execution_id bigint not null,
  parent_instance_id text,
  custom_status text,
  custom_status_version bigint not null default 0,
  created_at_ms bigint not null,
  updated_at_ms bigint not null
);
create index instances_parent_idx on @SCHEMA@.instances (parent_instance_id)
  where parent_instance_id is not null;

-- One row per execution (continue-as-new starts the next one).
create table @SCHEMA@.executions (
  instance_id text not null,
  execution_id bigint not null,
  status text not null,
  output text,
  pinned_major integer, -- runtime version the execution is pinned to; NULL = any
  pinned_minor integer,
  pinned_patch integer,
  started_at_ms bigint not null,
  completed_at_ms bigint, -- set for every terminal status, ContinuedAsNew included
  primary key (instance_id, execution_id)
);

-- Append-only event log. event_data is the exact JSON text the runtime wrote.
create table @SCHEMA@.history (
  instance_id text not null,
  execution_id bigint not null,
  event_id bigint not null check (event_id > 0),
  event_type text not null, -- the event's variant name, for queries; event_data is the truth
  event_data text not null,
  created_at_ms bigint not null,
  primary key (instance_id, execution_id, event_id)
);

-- Messages that trigger orchestration turns, timers included (visible_at = fire time).
-- A fetch stamps every visible message of the locked instance with its token; the ack
-- deletes exactly the stamped rows. The instance lock, not the row, governs ownership.
create table @SCHEMA@.orchestrator_queue (
  id bigint generated always as identity primary key,
  instance_id text not null,
  kind text not null, -- the work item's variant name
  work_item text not null,
  visible_at bigint not null,
  lock_token text,
  attempt_count integer not null default 0 check (attempt_count >= 0),
  created_at_ms bigint not null
);
create index orchestrator_queue_visible_idx on @SCHEMA@.orchestrator_queue (visible_at, id);
create index orchestrator_queue_instance_idx on @SCHEMA@.orchestrator_queue (instance_id, visible_at);
create index orchestrator_queue_token_idx on @SCHEMA@.orchestrator_queue (lock_token)
  where lock_token is not null;

-- Activity executions. visible_at is also the lease end while a row is locked, so one index
-- range (visible_at <= now) finds exactly the rows that are free or whose lease expired.
-- Routing and identity columns are copied out of the JSON so cancellation uses an index.
create table @SCHEMA@.worker_queue (
  id bigint generated always as identity primary key,
  work_item text not null,
  visible_at bigint not null,
  lock_token text,
  locked_until bigint,
  attempt_count integer not null default 0 check (attempt_count >= 0),
  instance_id text not null,
  execution_id bigint not null,
  activity_id bigint not null,
  session_id text,
  tag text,
  created_at_ms bigint not null
);
create index worker_queue_visible_idx on @SCHEMA@.worker_queue (visible_at, id);
create index worker_queue_activity_idx on @SCHEMA@.worker_queue (instance_id, execution_id, activity_id);
create unique index worker_queue_token_idx on @SCHEMA@.worker_queue (lock_token)
  where lock_token is not null;
create index worker_queue_session_idx on @SCHEMA@.worker_queue (session_id)
  where session_id is not null;

-- The per-instance lease of the orchestration dispatcher.
create table @SCHEMA@.instance_locks (
  instance_id text primary key,
  lock_token text not null unique,
  locked_until bigint not null,
  locked_at bigint not null
);

-- Session affinity: which worker owns a session, until when, and when it was last active.
create table @SCHEMA@.sessions (
  session_id text primary key,
  worker_id text not null,
  locked_until bigint not null,
  last_activity_at bigint not null
);
create index sessions_worker_idx on @SCHEMA@.sessions (worker_id);

-- KV values of completed executions; changes only at execution boundaries.
create table @SCHEMA@.kv_store (
  instance_id text not null,
  key text not null,
  value text not null,
  execution_id bigint not null,
  last_updated_at_ms bigint not null,
  primary key (instance_id, key)
);

-- KV writes of the current execution; value NULL is a tombstone.
create table @SCHEMA@.kv_delta (
  instance_id text not null,
  key text not null,
  value text,
  last_updated_at_ms bigint not null,
  primary key (instance_id, key)
);

-- ---------------------------------------------------------------------------------------------
-- Helpers
-- ---------------------------------------------------------------------------------------------

-- Time this call spent waiting, in ms: the time since the statement started, when it is at
-- least 50 ms, else 0. It is added to the caller's clock wherever a lease is computed, so a
-- call that waited (lock contention, a stalled server) still grants the full lease instead of
-- one that is already expired. Shorter spans are ignored so that, in normal operation, a lease
-- is an exact function of the caller's clock. Only a duration is taken from the server.
create function @SCHEMA@.wait_ms() returns bigint
language sql volatile as $$
  select case when e >= 50 then e else 0 end
    from (select floor(extract(epoch from (clock_timestamp() - statement_timestamp())) * 1000)::bigint
            as e) elapsed
$$;

-- Raises DX001 (no such token) or DX002 (the token exists but its lease ran out).
create function @SCHEMA@.raise_lock_error(p_token_exists boolean, p_what text) returns void
language plpgsql as $$
begin
  if p_token_exists then
    raise exception '% lock expired', p_what using errcode = 'DX002';
  end if;
  raise exception 'Invalid lock token: the % lock was released, taken over or never existed',
    lower(p_what) using errcode = 'DX001';
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Orchestrator queue
-- ---------------------------------------------------------------------------------------------

create function @SCHEMA@.enqueue_orchestrator_item(
  p_instance_id text, p_kind text, p_work_item text, p_visible_at bigint, p_now_ms bigint
) returns jsonb
language sql as $$
  insert into @SCHEMA@.orchestrator_queue (instance_id, kind, work_item, visible_at, created_at_ms)
  values (p_instance_id, p_kind, p_work_item, p_visible_at, p_now_ms);
  select null::jsonb;
$$;

-- Whether an instance has started: it has an instance row, an execution or history, or a
-- visible start message. Messages of instances that have not started are never fetched.
-- (A plain SQL expression, so the planner inlines it into the candidate scan.)
create function @SCHEMA@.instance_started(p_instance_id text, p_now_ms bigint) returns boolean
language sql stable as $$
  select exists (select 1 from @SCHEMA@.instances i where i.instance_id = p_instance_id)
      or exists (select 1 from @SCHEMA@.executions e where e.instance_id = p_instance_id)
      or exists (select 1 from @SCHEMA@.history h where h.instance_id = p_instance_id)
      or exists (select 1 from @SCHEMA@.orchestrator_queue s
                  where s.instance_id = p_instance_id and s.visible_at <= p_now_ms
                    and s.kind in ('StartOrchestration', 'ContinueAsNew'))
$$;

-- Whether a visible message may be fetched: its instance has started, or the message starts
-- it, or it is a queue message of an instance whose visible messages are all queue messages
-- (the fetch drops those, as Duroxide drops events of orchestrations that never started).
-- Other messages of an instance that has not started wait for the start, and never block
-- other instances.
create function @SCHEMA@.message_fetchable(p_instance_id text, p_kind text, p_now_ms bigint)
returns boolean
language sql stable as $$
  select p_kind in ('StartOrchestration', 'ContinueAsNew')
      or @SCHEMA@.instance_started(p_instance_id, p_now_ms)
      or (p_kind = 'QueueMessage'
          and not exists (select 1 from @SCHEMA@.orchestrator_queue s
                           where s.instance_id = p_instance_id and s.visible_at <= p_now_ms
                             and s.kind <> 'QueueMessage'))
$$;

-- Locks the instance with the oldest visible message and returns its turn:
-- {instance_id, lock_token, attempt_count, messages[text], history[text], kv, name, version,
--  execution_id, has_instance}. NULL when there is no eligible instance.
--
-- Candidates are taken in (visible_at, id) order. A candidate held by a concurrent fetch is
-- skipped with a non-blocking advisory try-lock, so no fetch ever waits on another. Messages
-- of instances that have not started wait (see message_fetchable); an instance with nothing
-- but queue messages visible has them dropped. p_min_version/p_max_version (packed major*1e6+minor*1e3+patch)
-- exclude executions pinned outside the range before anything is locked.
create function @SCHEMA@.fetch_orchestration_item(
  p_now_ms bigint, p_lock_timeout_ms bigint, p_min_version bigint, p_max_version bigint
) returns jsonb
language plpgsql as $$
declare
  v_skipped text[] := '{}';
  v_instance text;
  v_kind text;
  v_token text;
  v_until bigint;
  v_rows bigint;
  v_messages jsonb;
  v_attempts integer;
  v_name text;
  v_version text;
  v_execution_id bigint;
  v_has_instance boolean;
  v_history jsonb;
  v_kv jsonb;
begin
  for v_iteration in 1..64 loop
    select q.instance_id, q.kind into v_instance, v_kind
      from @SCHEMA@.orchestrator_queue q
     where q.visible_at <= p_now_ms
       and q.instance_id <> all (v_skipped)
       and not exists (select 1 from @SCHEMA@.instance_locks l
                        where l.instance_id = q.instance_id and l.locked_until > p_now_ms)
       and @SCHEMA@.message_fetchable(q.instance_id, q.kind, p_now_ms)
       and (p_min_version is null or coalesce(
             (select e.pinned_major::bigint * 1000000 + e.pinned_minor * 1000 + e.pinned_patch
                from @SCHEMA@.executions e
               where e.instance_id = q.instance_id
               order by e.execution_id desc limit 1)
             between p_min_version and p_max_version, true))
     order by q.visible_at, q.id
     limit 1;
    if not found then
      return null;
    end if;

    if not pg_try_advisory_xact_lock(hashtextextended('@SCHEMA@.instance:' || v_instance, 0)) then
      v_skipped := v_skipped || v_instance;
      continue;
    end if;

    if v_kind = 'QueueMessage' and not @SCHEMA@.instance_started(v_instance, p_now_ms) then
      -- Queue messages of an orchestration that never started (and nothing else is visible
      -- for it, or the message would not be a candidate) are dropped, as in Duroxide.
      delete from @SCHEMA@.orchestrator_queue
       where instance_id = v_instance and kind = 'QueueMessage' and visible_at <= p_now_ms;
      v_skipped := v_skipped || v_instance;
      continue;
    end if;

    v_token := gen_random_uuid()::text;
    v_until := p_now_ms + @SCHEMA@.wait_ms() + p_lock_timeout_ms;
    insert into @SCHEMA@.instance_locks as l (instance_id, lock_token, locked_until, locked_at)
    values (v_instance, v_token, v_until, p_now_ms)
    on conflict (instance_id) do update
       set lock_token = excluded.lock_token,
           locked_until = excluded.locked_until,
           locked_at = excluded.locked_at
     where l.locked_until <= p_now_ms;
    get diagnostics v_rows = row_count;
    if v_rows = 0 then
      v_skipped := v_skipped || v_instance;
      continue;
    end if;

    with tagged as (
      update @SCHEMA@.orchestrator_queue
         set lock_token = v_token, attempt_count = attempt_count + 1
       where instance_id = v_instance and visible_at <= p_now_ms
      returning id, work_item, attempt_count
    )
    select jsonb_agg(to_jsonb(work_item) order by id), max(attempt_count)
      into v_messages, v_attempts
      from tagged;
    if v_messages is null then
      -- The messages were consumed between the candidate scan and the lock.
      delete from @SCHEMA@.instance_locks where instance_id = v_instance and lock_token = v_token;
      v_skipped := v_skipped || v_instance;
      continue;
    end if;

    select i.orchestration_name, i.orchestration_version, i.current_execution_id
      into v_name, v_version, v_execution_id
      from @SCHEMA@.instances i
     where i.instance_id = v_instance;
    v_has_instance := found;
    if not v_has_instance then
      v_execution_id := coalesce(
        (select max(e.execution_id) from @SCHEMA@.executions e where e.instance_id = v_instance),
        (select max(h.execution_id) from @SCHEMA@.history h where h.instance_id = v_instance));
    end if;

    select coalesce(jsonb_agg(to_jsonb(h.event_data) order by h.event_id), '[]'::jsonb)
      into v_history
      from @SCHEMA@.history h
     where h.instance_id = v_instance and h.execution_id = coalesce(v_execution_id, 1);

    select coalesce(jsonb_object_agg(s.key, jsonb_build_object(
             'value', s.value, 'last_updated_at_ms', s.last_updated_at_ms)), '{}'::jsonb)
      into v_kv
      from @SCHEMA@.kv_store s
     where s.instance_id = v_instance;

    return jsonb_build_object(
      'instance_id', v_instance,
      'lock_token', v_token,
      'attempt_count', v_attempts,
      'messages', v_messages,
      'history', v_history,
      'kv', v_kv,
      'name', v_name,
      'version', v_version,
      'execution_id', v_execution_id,
      'has_instance', v_has_instance);
  end loop;
  return null;
end
$$;

-- Commits a turn atomically. The lock is validated first (under a row lock, so of two acks
-- with one token exactly one succeeds); any failure rolls back everything, lock included.
--   p_history:     [{event_id, event_type, event_data}]
--   p_worker:      [{work_item, instance_id, execution_id, activity_id, session_id, tag}]
--   p_orchestrator:[{instance_id, kind, work_item, visible_at|null}]
--   p_metadata:    {orchestration_name, orchestration_version, parent_instance_id, status,
--                   output, pinned: {major, minor, patch}}
--   p_custom_status: NULL (untouched) or {value: text|null}
--   p_kv:          [{op: 'set'|'clear'|'clear_all', key, value, last_updated_at_ms}] in order
--   p_cancelled:   [{instance, execution_id, activity_id}]
create function @SCHEMA@.ack_orchestration_item(
  p_lock_token text, p_now_ms bigint, p_execution_id bigint, p_history jsonb, p_worker jsonb,
  p_orchestrator jsonb, p_metadata jsonb, p_custom_status jsonb, p_kv jsonb, p_cancelled jsonb
) returns jsonb
language plpgsql as $$
declare
  v_instance text;
  v_until bigint;
  v_name text := p_metadata ->> 'orchestration_name';
  v_version text := p_metadata ->> 'orchestration_version';
  v_status text := p_metadata ->> 'status';
  v_op jsonb;
begin
  select l.instance_id, l.locked_until into v_instance, v_until
    from @SCHEMA@.instance_locks l
   where l.lock_token = p_lock_token
     for update;
  if not found or v_until <= p_now_ms then
    perform @SCHEMA@.raise_lock_error(found, 'Instance');
  end if;

  delete from @SCHEMA@.orchestrator_queue where lock_token = p_lock_token;

  if v_name is not null and v_version is not null then
    insert into @SCHEMA@.instances as i (instance_id, orchestration_name, orchestration_version,
      current_execution_id, parent_instance_id, created_at_ms, updated_at_ms)
    values (v_instance, v_name, v_version, p_execution_id, p_metadata ->> 'parent_instance_id',
      p_now_ms, p_now_ms)
    on conflict (instance_id) do update
       set orchestration_name = excluded.orchestration_name,
           orchestration_version = excluded.orchestration_version;
  end if;

  insert into @SCHEMA@.executions (instance_id, execution_id, status, started_at_ms)
  values (v_instance, p_execution_id, 'Running', p_now_ms)
  on conflict (instance_id, execution_id) do nothing;

  if p_metadata -> 'pinned' is not null and jsonb_typeof(p_metadata -> 'pinned') = 'object' then
    update @SCHEMA@.executions
       set pinned_major = (p_metadata -> 'pinned' ->> 'major')::integer,
           pinned_minor = (p_metadata -> 'pinned' ->> 'minor')::integer,
           pinned_patch = (p_metadata -> 'pinned' ->> 'patch')::integer
     where instance_id = v_instance and execution_id = p_execution_id;
  end if;

  update @SCHEMA@.instances
     set current_execution_id = greatest(current_execution_id, p_execution_id),
         updated_at_ms = p_now_ms,
         custom_status = case when p_custom_status is null then custom_status
                              else p_custom_status ->> 'value' end,
         custom_status_version = custom_status_version
                                 + case when p_custom_status is null then 0 else 1 end
   where instance_id = v_instance;

  insert into @SCHEMA@.history (instance_id, execution_id, event_id, event_type, event_data,
    created_at_ms)
  select v_instance, p_execution_id, (e ->> 'event_id')::bigint, e ->> 'event_type',
         e ->> 'event_data', p_now_ms
    from jsonb_array_elements(p_history) e;

  if v_status is not null then
    update @SCHEMA@.executions
       set status = v_status,
           output = p_metadata ->> 'output',
           completed_at_ms = case when v_status in ('Completed', 'Failed', 'ContinuedAsNew')
                                  then p_now_ms else completed_at_ms end
     where instance_id = v_instance and execution_id = p_execution_id;
  end if;

  for v_op in select value from jsonb_array_elements(p_kv) loop
    if v_op ->> 'op' = 'set' then
      insert into @SCHEMA@.kv_delta as d (instance_id, key, value, last_updated_at_ms)
      values (v_instance, v_op ->> 'key', v_op ->> 'value', (v_op ->> 'last_updated_at_ms')::bigint)
      on conflict (instance_id, key) do update
         set value = excluded.value, last_updated_at_ms = excluded.last_updated_at_ms;
    elsif v_op ->> 'op' = 'clear' then
      insert into @SCHEMA@.kv_delta as d (instance_id, key, value, last_updated_at_ms)
      values (v_instance, v_op ->> 'key', null, p_now_ms)
      on conflict (instance_id, key) do update
         set value = null, last_updated_at_ms = excluded.last_updated_at_ms;
    else
      update @SCHEMA@.kv_delta set value = null, last_updated_at_ms = p_now_ms
       where instance_id = v_instance;
      insert into @SCHEMA@.kv_delta (instance_id, key, value, last_updated_at_ms)
      select v_instance, s.key, null, p_now_ms
        from @SCHEMA@.kv_store s
       where s.instance_id = v_instance
      on conflict (instance_id, key) do nothing;
    end if;
  end loop;

  if v_status in ('Completed', 'Failed', 'ContinuedAsNew') then
    insert into @SCHEMA@.kv_store as s (instance_id, key, value, execution_id, last_updated_at_ms)
    select d.instance_id, d.key, d.value, p_execution_id, d.last_updated_at_ms
      from @SCHEMA@.kv_delta d
     where d.instance_id = v_instance and d.value is not null
    on conflict (instance_id, key) do update
       set value = excluded.value,
           execution_id = excluded.execution_id,
           last_updated_at_ms = excluded.last_updated_at_ms;
    delete from @SCHEMA@.kv_store s
     using @SCHEMA@.kv_delta d
     where s.instance_id = v_instance and d.instance_id = v_instance
       and d.key = s.key and d.value is null;
    delete from @SCHEMA@.kv_delta where instance_id = v_instance;
  end if;

  -- New activities go in before cancelled ones are deleted, so an activity scheduled and
  -- cancelled in the same turn ends up not queued.
  insert into @SCHEMA@.worker_queue (work_item, visible_at, instance_id, execution_id,
    activity_id, session_id, tag, created_at_ms)
  select w ->> 'work_item', p_now_ms, w ->> 'instance_id', (w ->> 'execution_id')::bigint,
         (w ->> 'activity_id')::bigint, w ->> 'session_id', w ->> 'tag', p_now_ms
    from jsonb_array_elements(p_worker) with ordinality as t(w, n)
   order by n;

  delete from @SCHEMA@.worker_queue q
   using jsonb_to_recordset(p_cancelled) as c(instance text, execution_id bigint, activity_id bigint)
   where q.instance_id = c.instance
     and q.execution_id = c.execution_id
     and q.activity_id = c.activity_id;

  insert into @SCHEMA@.orchestrator_queue (instance_id, kind, work_item, visible_at, created_at_ms)
  select o ->> 'instance_id', o ->> 'kind', o ->> 'work_item',
         coalesce((o ->> 'visible_at')::bigint, p_now_ms), p_now_ms
    from jsonb_array_elements(p_orchestrator) with ordinality as t(o, n)
   order by n;

  delete from @SCHEMA@.instance_locks where instance_id = v_instance;
  return null;
end
$$;

-- Releases an instance lock. The batch keeps its messages; with p_ignore_attempt their fetch
-- count is given back; with a delay, the instance's visible messages become visible later.
-- A lease that ran out but was not taken over may still be released (as in Duroxide): the
-- holder gives the messages back either way. A token that was taken over is DX001.
create function @SCHEMA@.abandon_orchestration_item(
  p_lock_token text, p_now_ms bigint, p_delay_ms bigint, p_ignore_attempt boolean
) returns jsonb
language plpgsql as $$
declare
  v_instance text;
begin
  select l.instance_id into v_instance
    from @SCHEMA@.instance_locks l
   where l.lock_token = p_lock_token
     for update;
  if not found then
    perform @SCHEMA@.raise_lock_error(false, 'Instance');
  end if;

  if p_ignore_attempt then
    update @SCHEMA@.orchestrator_queue
       set attempt_count = greatest(0, attempt_count - 1)
     where lock_token = p_lock_token;
  end if;
  if coalesce(p_delay_ms, 0) > 0 then
    update @SCHEMA@.orchestrator_queue
       set visible_at = p_now_ms + p_delay_ms
     where instance_id = v_instance and visible_at <= p_now_ms;
  end if;
  delete from @SCHEMA@.instance_locks where instance_id = v_instance;
  return null;
end
$$;

-- Extends a live instance lock to at least now + p_extend_ms (never shortens it).
create function @SCHEMA@.renew_orchestration_item_lock(
  p_lock_token text, p_now_ms bigint, p_extend_ms bigint
) returns jsonb
language plpgsql as $$
begin
  update @SCHEMA@.instance_locks
     set locked_until = greatest(locked_until, p_now_ms + @SCHEMA@.wait_ms() + p_extend_ms)
   where lock_token = p_lock_token and locked_until > p_now_ms;
  if not found then
    perform @SCHEMA@.raise_lock_error(
      exists (select 1 from @SCHEMA@.instance_locks where lock_token = p_lock_token), 'Instance');
  end if;
  return null;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- History
-- ---------------------------------------------------------------------------------------------

-- The history of one execution as an array of JSON texts; p_execution_id NULL means the
-- latest execution (highest id in executions, else in history, else 1).
create function @SCHEMA@.read_history(p_instance_id text, p_execution_id bigint) returns jsonb
language sql stable as $$
  select coalesce(jsonb_agg(to_jsonb(h.event_data) order by h.event_id), '[]'::jsonb)
    from @SCHEMA@.history h
   where h.instance_id = p_instance_id
     and h.execution_id = coalesce(
           p_execution_id,
           (select max(e.execution_id) from @SCHEMA@.executions e where e.instance_id = p_instance_id),
           (select max(x.execution_id) from @SCHEMA@.history x where x.instance_id = p_instance_id),
           1)
$$;

-- Appends events as given ([{event_id, event_type, event_data}]); a duplicate id fails.
create function @SCHEMA@.append_history(
  p_instance_id text, p_execution_id bigint, p_events jsonb, p_now_ms bigint
) returns jsonb
language sql as $$
  insert into @SCHEMA@.history (instance_id, execution_id, event_id, event_type, event_data,
    created_at_ms)
  select p_instance_id, p_execution_id, (e ->> 'event_id')::bigint, e ->> 'event_type',
         e ->> 'event_data', p_now_ms
    from jsonb_array_elements(p_events) e;
  select null::jsonb;
$$;

-- ---------------------------------------------------------------------------------------------
-- Worker queue
-- ---------------------------------------------------------------------------------------------

create function @SCHEMA@.enqueue_worker_item(
  p_work_item text, p_instance_id text, p_execution_id bigint, p_activity_id bigint,
  p_session_id text, p_tag text, p_now_ms bigint
) returns jsonb
language sql as $$
  insert into @SCHEMA@.worker_queue (work_item, visible_at, instance_id, execution_id,
    activity_id, session_id, tag, created_at_ms)
  values (p_work_item, p_now_ms, p_instance_id, p_execution_id, p_activity_id, p_session_id,
    p_tag, p_now_ms);
  select null::jsonb;
$$;

-- Locks the oldest eligible activity: {work_item, lock_token, attempt_count} or NULL.
--   p_tag_mode: 'default_only' | 'tags' | 'default_and' | 'any' (with p_tags a JSON array)
--   p_owner_id NULL: only items without a session. Otherwise items without a session, of
--   sessions this owner holds, or of sessions nobody holds; a session is claimed (or renewed)
--   for p_session_lock_timeout_ms. Rows are claimed with SKIP LOCKED, and a lost session
--   claim moves on to the next candidate.
create function @SCHEMA@.fetch_work_item(
  p_now_ms bigint, p_lock_timeout_ms bigint, p_owner_id text, p_session_lock_timeout_ms bigint,
  p_tag_mode text, p_tags jsonb
) returns jsonb
language plpgsql as $$
declare
  v_tags text[] := array(select jsonb_array_elements_text(coalesce(p_tags, '[]'::jsonb)));
  v_lost_sessions text[] := '{}';
  v_id bigint;
  v_session text;
  v_now bigint;
  v_rows bigint;
  v_token text;
  v_work_item text;
  v_attempts integer;
begin
  for v_iteration in 1..16 loop
    select w.id, w.session_id into v_id, v_session
      from @SCHEMA@.worker_queue w
     where w.visible_at <= p_now_ms
       and (p_tag_mode = 'any'
            or (w.tag is null and p_tag_mode in ('default_only', 'default_and'))
            or (w.tag = any (v_tags) and p_tag_mode in ('tags', 'default_and')))
       and (w.session_id is null
            or (p_owner_id is not null
                and w.session_id <> all (v_lost_sessions)
                and not exists (select 1 from @SCHEMA@.sessions s
                                 where s.session_id = w.session_id
                                   and s.locked_until > p_now_ms
                                   and s.worker_id <> p_owner_id)))
     order by w.visible_at, w.id
     limit 1
       for update skip locked;
    if not found then
      return null;
    end if;

    v_now := p_now_ms + @SCHEMA@.wait_ms();
    if v_session is not null then
      insert into @SCHEMA@.sessions as s (session_id, worker_id, locked_until, last_activity_at)
      values (v_session, p_owner_id, v_now + p_session_lock_timeout_ms, v_now)
      on conflict (session_id) do update
         set worker_id = excluded.worker_id,
             locked_until = excluded.locked_until,
             last_activity_at = excluded.last_activity_at
       where s.locked_until <= p_now_ms or s.worker_id = excluded.worker_id;
      get diagnostics v_rows = row_count;
      if v_rows = 0 then
        v_lost_sessions := v_lost_sessions || v_session;
        continue;
      end if;
    end if;

    v_token := gen_random_uuid()::text;
    update @SCHEMA@.worker_queue
       set lock_token = v_token,
           locked_until = v_now + p_lock_timeout_ms,
           visible_at = v_now + p_lock_timeout_ms,
           attempt_count = attempt_count + 1
     where id = v_id
    returning work_item, attempt_count into v_work_item, v_attempts;
    return jsonb_build_object(
      'work_item', v_work_item, 'lock_token', v_token, 'attempt_count', v_attempts);
  end loop;
  return null;
end
$$;

-- Deletes a locked activity and, with a completion ({instance_id, kind, work_item}), enqueues
-- it for the orchestration, atomically. Fails when the row is gone (acked, or cancelled by
-- its orchestration) or its lease expired.
create function @SCHEMA@.ack_work_item(
  p_lock_token text, p_now_ms bigint, p_completion jsonb
) returns jsonb
language plpgsql as $$
declare
  v_session text;
begin
  delete from @SCHEMA@.worker_queue
   where lock_token = p_lock_token and locked_until > p_now_ms
  returning session_id into v_session;
  if not found then
    perform @SCHEMA@.raise_lock_error(
      exists (select 1 from @SCHEMA@.worker_queue where lock_token = p_lock_token), 'Work item');
  end if;
  if v_session is not null then
    update @SCHEMA@.sessions set last_activity_at = p_now_ms
     where session_id = v_session and locked_until > p_now_ms;
  end if;
  if p_completion is not null then
    insert into @SCHEMA@.orchestrator_queue (instance_id, kind, work_item, visible_at,
      created_at_ms)
    values (p_completion ->> 'instance_id', p_completion ->> 'kind',
      p_completion ->> 'work_item', p_now_ms, p_now_ms);
  end if;
  return null;
end
$$;

-- Extends a live activity lock to at least now + p_extend_ms; fails once the row is gone.
create function @SCHEMA@.renew_work_item_lock(
  p_lock_token text, p_now_ms bigint, p_extend_ms bigint
) returns jsonb
language plpgsql as $$
declare
  v_session text;
  v_until bigint;
begin
  update @SCHEMA@.worker_queue
     set locked_until = greatest(locked_until, p_now_ms + @SCHEMA@.wait_ms() + p_extend_ms),
         visible_at = greatest(locked_until, p_now_ms + @SCHEMA@.wait_ms() + p_extend_ms)
   where lock_token = p_lock_token and locked_until > p_now_ms
  returning session_id, locked_until into v_session, v_until;
  if not found then
    perform @SCHEMA@.raise_lock_error(
      exists (select 1 from @SCHEMA@.worker_queue where lock_token = p_lock_token), 'Work item');
  end if;
  if v_session is not null then
    update @SCHEMA@.sessions set last_activity_at = p_now_ms
     where session_id = v_session and locked_until > p_now_ms;
  end if;
  return null;
end
$$;

-- Releases an activity lock. Without a delay the item regains its original queue position.
-- As with orchestrations, a lapsed lease that nobody took over may still be released.
create function @SCHEMA@.abandon_work_item(
  p_lock_token text, p_now_ms bigint, p_delay_ms bigint, p_ignore_attempt boolean
) returns jsonb
language plpgsql as $$
begin
  update @SCHEMA@.worker_queue
     set lock_token = null,
         locked_until = null,
         visible_at = case when coalesce(p_delay_ms, 0) > 0 then p_now_ms + p_delay_ms
                           else least(created_at_ms, p_now_ms) end,
         attempt_count = case when p_ignore_attempt then greatest(0, attempt_count - 1)
                              else attempt_count end
   where lock_token = p_lock_token;
  if not found then
    perform @SCHEMA@.raise_lock_error(false, 'Work item');
  end if;
  return null;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Sessions
-- ---------------------------------------------------------------------------------------------

-- Extends the live sessions of these owners that were active within the idle timeout.
create function @SCHEMA@.renew_session_lock(
  p_owner_ids jsonb, p_now_ms bigint, p_extend_ms bigint, p_idle_timeout_ms bigint
) returns jsonb
language plpgsql as $$
declare
  v_rows bigint;
begin
  update @SCHEMA@.sessions
     set locked_until = p_now_ms + p_extend_ms
   where worker_id in (select jsonb_array_elements_text(p_owner_ids))
     and locked_until > p_now_ms
     and last_activity_at > p_now_ms - p_idle_timeout_ms;
  get diagnostics v_rows = row_count;
  return to_jsonb(v_rows);
end
$$;

-- Deletes expired sessions that no queued activity refers to.
create function @SCHEMA@.cleanup_orphaned_sessions(p_now_ms bigint) returns jsonb
language plpgsql as $$
declare
  v_rows bigint;
begin
  delete from @SCHEMA@.sessions s
   where s.locked_until <= p_now_ms
     and not exists (select 1 from @SCHEMA@.worker_queue w where w.session_id = s.session_id);
  get diagnostics v_rows = row_count;
  return to_jsonb(v_rows);
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Custom status, KV and statistics
-- ---------------------------------------------------------------------------------------------

-- {status, version} when the version is newer than p_last_seen_version, else NULL.
create function @SCHEMA@.get_custom_status(p_instance_id text, p_last_seen_version bigint)
returns jsonb
language sql stable as $$
  select jsonb_build_object('status', i.custom_status, 'version', i.custom_status_version)
    from @SCHEMA@.instances i
   where i.instance_id = p_instance_id and i.custom_status_version > p_last_seen_version
$$;

-- {value} from the current execution's writes, else from completed executions; NULL when the
-- key is absent or tombstoned.
create function @SCHEMA@.get_kv_value(p_instance_id text, p_key text) returns jsonb
language plpgsql stable as $$
declare
  v_value text;
begin
  select d.value into v_value from @SCHEMA@.kv_delta d
   where d.instance_id = p_instance_id and d.key = p_key;
  if not found then
    select s.value into v_value from @SCHEMA@.kv_store s
     where s.instance_id = p_instance_id and s.key = p_key;
  end if;
  return case when v_value is null then null else jsonb_build_object('value', v_value) end;
end
$$;

-- {key: value} of completed executions overlaid by the current execution's writes.
create function @SCHEMA@.get_kv_all_values(p_instance_id text) returns jsonb
language sql stable as $$
  select coalesce(jsonb_object_agg(m.key, m.value), '{}'::jsonb)
    from (
      select coalesce(d.key, s.key) as key,
             case when d.key is not null then d.value else s.value end as value
        from (select * from @SCHEMA@.kv_store where instance_id = p_instance_id) s
        full join (select * from @SCHEMA@.kv_delta where instance_id = p_instance_id) d
          on d.key = s.key
    ) m
   where m.value is not null
$$;

-- Figures for the current execution of an instance, or NULL for an unknown instance.
create function @SCHEMA@.get_instance_stats(p_instance_id text) returns jsonb
language sql stable as $$
  select jsonb_build_object(
    'history_event_count', (select count(*) from @SCHEMA@.history h
                             where h.instance_id = i.instance_id
                               and h.execution_id = i.current_execution_id),
    'history_size_bytes', (select coalesce(sum(octet_length(h.event_data)), 0)
                             from @SCHEMA@.history h
                            where h.instance_id = i.instance_id
                              and h.execution_id = i.current_execution_id),
    'queue_pending_count', coalesce((
      select jsonb_array_length(h.event_data::jsonb -> 'carry_forward_events')
        from @SCHEMA@.history h
       where h.instance_id = i.instance_id and h.execution_id = i.current_execution_id
         and h.event_type = 'OrchestrationStarted'
         and jsonb_typeof(h.event_data::jsonb -> 'carry_forward_events') = 'array'
       order by h.event_id limit 1), 0),
    'kv_user_key_count', (
      select count(*) from (
        select s.key from @SCHEMA@.kv_store s where s.instance_id = i.instance_id
        union
        select d.key from @SCHEMA@.kv_delta d
         where d.instance_id = i.instance_id and d.value is not null) k),
    'kv_total_value_bytes',
      (select coalesce(sum(octet_length(s.value)), 0) from @SCHEMA@.kv_store s
        where s.instance_id = i.instance_id)
      + (select coalesce(sum(octet_length(d.value)), 0) from @SCHEMA@.kv_delta d
          where d.instance_id = i.instance_id))
    from @SCHEMA@.instances i
   where i.instance_id = p_instance_id
$$;

-- ---------------------------------------------------------------------------------------------
-- Management
-- ---------------------------------------------------------------------------------------------

-- Instance ids, newest first; with p_status, only those whose current execution has it.
create function @SCHEMA@.list_instances(p_status text) returns jsonb
language sql stable as $$
  select coalesce(jsonb_agg(i.instance_id order by i.created_at_ms desc, i.instance_id), '[]'::jsonb)
    from @SCHEMA@.instances i
    left join @SCHEMA@.executions e
      on e.instance_id = i.instance_id and e.execution_id = i.current_execution_id
   where p_status is null or coalesce(e.status, 'Running') = p_status
$$;

create function @SCHEMA@.list_executions(p_instance_id text) returns jsonb
language sql stable as $$
  select coalesce(jsonb_agg(e.execution_id order by e.execution_id), '[]'::jsonb)
    from @SCHEMA@.executions e
   where e.instance_id = p_instance_id
$$;

create function @SCHEMA@.get_instance_info(p_instance_id text) returns jsonb
language plpgsql stable as $$
declare
  v_info jsonb;
begin
  select jsonb_build_object(
           'instance_id', i.instance_id,
           'orchestration_name', i.orchestration_name,
           'orchestration_version', coalesce(i.orchestration_version, 'unknown'),
           'current_execution_id', i.current_execution_id,
           'status', coalesce(e.status, 'Running'),
           'output', e.output,
           'created_at', i.created_at_ms,
           'updated_at', i.updated_at_ms,
           'parent_instance_id', i.parent_instance_id)
    into v_info
    from @SCHEMA@.instances i
    left join @SCHEMA@.executions e
      on e.instance_id = i.instance_id and e.execution_id = i.current_execution_id
   where i.instance_id = p_instance_id;
  if v_info is null then
    raise exception 'Instance not found: %', p_instance_id using errcode = 'DX004';
  end if;
  return v_info;
end
$$;

create function @SCHEMA@.get_execution_info(p_instance_id text, p_execution_id bigint)
returns jsonb
language plpgsql stable as $$
declare
  v_info jsonb;
begin
  select jsonb_build_object(
           'execution_id', e.execution_id,
           'status', e.status,
           'output', e.output,
           'started_at', e.started_at_ms,
           'completed_at', e.completed_at_ms,
           'event_count', (select count(*) from @SCHEMA@.history h
                            where h.instance_id = e.instance_id
                              and h.execution_id = e.execution_id))
    into v_info
    from @SCHEMA@.executions e
   where e.instance_id = p_instance_id and e.execution_id = p_execution_id;
  if v_info is null then
    raise exception 'Execution not found: % execution %', p_instance_id, p_execution_id
      using errcode = 'DX004';
  end if;
  return v_info;
end
$$;

create function @SCHEMA@.get_system_metrics() returns jsonb
language sql stable as $$
  select jsonb_build_object(
    'total_instances', count(*),
    'running_instances', count(*) filter (where coalesce(e.status, 'Running') = 'Running'),
    'completed_instances', count(*) filter (where e.status = 'Completed'),
    'failed_instances', count(*) filter (where e.status = 'Failed'),
    'total_executions', (select count(*) from @SCHEMA@.executions),
    'total_events', (select count(*) from @SCHEMA@.history))
    from @SCHEMA@.instances i
    left join @SCHEMA@.executions e
      on e.instance_id = i.instance_id and e.execution_id = i.current_execution_id
$$;

-- Visible rows that nobody holds.
create function @SCHEMA@.get_queue_depths(p_now_ms bigint) returns jsonb
language sql stable as $$
  select jsonb_build_object(
    'orchestrator_queue', (
      select count(*) from @SCHEMA@.orchestrator_queue q
       where q.visible_at <= p_now_ms
         and not exists (select 1 from @SCHEMA@.instance_locks l
                          where l.instance_id = q.instance_id and l.locked_until > p_now_ms)),
    'worker_queue', (select count(*) from @SCHEMA@.worker_queue w where w.visible_at <= p_now_ms),
    'timer_queue', 0)
$$;

create function @SCHEMA@.list_children(p_instance_id text) returns jsonb
language sql stable as $$
  select coalesce(jsonb_agg(i.instance_id order by i.instance_id), '[]'::jsonb)
    from @SCHEMA@.instances i
   where i.parent_instance_id = p_instance_id
$$;

-- {parent_instance_id}; DX004 for an unknown instance.
create function @SCHEMA@.get_parent_id(p_instance_id text) returns jsonb
language plpgsql stable as $$
declare
  v_parent text;
begin
  select i.parent_instance_id into v_parent from @SCHEMA@.instances i
   where i.instance_id = p_instance_id;
  if not found then
    raise exception 'Instance not found: %', p_instance_id using errcode = 'DX004';
  end if;
  return jsonb_build_object('parent_instance_id', v_parent);
end
$$;

-- The instance and all its descendants, root first (one recursive query).
create function @SCHEMA@.instance_tree_ids(p_roots text[]) returns text[]
language sql stable as $$
  with recursive tree(instance_id) as (
    select unnest(p_roots)
    union
    select c.instance_id from @SCHEMA@.instances c join tree t on c.parent_instance_id = t.instance_id
  )
  select coalesce(array_agg(instance_id), '{}') from tree
$$;

create function @SCHEMA@.get_instance_tree(p_instance_id text) returns jsonb
language sql stable as $$
  select jsonb_build_object('root_id', p_instance_id,
                            'all_ids', to_jsonb(@SCHEMA@.instance_tree_ids(array[p_instance_id])))
$$;

-- Deletes these instances and every row that refers to them, in one transaction.
-- Without p_force a running instance is refused (DX005); a child whose parent is deleted but
-- which is not in the list itself is refused (DX006), since it would be left orphaned.
create function @SCHEMA@.delete_instances(p_ids text[], p_force boolean) returns jsonb
language plpgsql as $$
declare
  v_blocker text;
  v_instances bigint;
  v_executions bigint;
  v_events bigint;
  v_orchestrator bigint;
  v_worker bigint;
begin
  if coalesce(array_length(p_ids, 1), 0) = 0 then
    return jsonb_build_object('instances_deleted', 0, 'executions_deleted', 0,
                              'events_deleted', 0, 'queue_messages_deleted', 0);
  end if;
  -- Row locks make the checks below hold until commit (a turn cannot add a child meanwhile).
  perform 1 from @SCHEMA@.instances where instance_id = any (p_ids) for update;

  if not p_force then
    select i.instance_id into v_blocker
      from @SCHEMA@.instances i
      join @SCHEMA@.executions e
        on e.instance_id = i.instance_id and e.execution_id = i.current_execution_id
     where i.instance_id = any (p_ids) and e.status = 'Running'
     limit 1;
    if found then
      raise exception 'Instance % is still running: cancel it first or delete with force',
        v_blocker using errcode = 'DX005';
    end if;
  end if;

  select i.instance_id into v_blocker
    from @SCHEMA@.instances i
   where i.parent_instance_id = any (p_ids) and not (i.instance_id = any (p_ids))
   limit 1;
  if found then
    raise exception 'Orphan detected: instance % would lose its parent; delete the whole tree',
      v_blocker using errcode = 'DX006';
  end if;

  delete from @SCHEMA@.history where instance_id = any (p_ids);
  get diagnostics v_events = row_count;
  delete from @SCHEMA@.executions where instance_id = any (p_ids);
  get diagnostics v_executions = row_count;
  delete from @SCHEMA@.orchestrator_queue where instance_id = any (p_ids);
  get diagnostics v_orchestrator = row_count;
  delete from @SCHEMA@.worker_queue where instance_id = any (p_ids);
  get diagnostics v_worker = row_count;
  -- Removing the lease makes an in-flight ack fail instead of recreating the instance.
  delete from @SCHEMA@.instance_locks where instance_id = any (p_ids);
  delete from @SCHEMA@.kv_store where instance_id = any (p_ids);
  delete from @SCHEMA@.kv_delta where instance_id = any (p_ids);
  delete from @SCHEMA@.instances where instance_id = any (p_ids);
  get diagnostics v_instances = row_count;
  return jsonb_build_object('instances_deleted', v_instances,
                            'executions_deleted', v_executions,
                            'events_deleted', v_events,
                            'queue_messages_deleted', v_orchestrator + v_worker);
end
$$;

-- Deletes a root instance with its whole tree; DX004 unknown, DX007 for a sub-orchestration.
create function @SCHEMA@.delete_instance(p_instance_id text, p_force boolean) returns jsonb
language plpgsql as $$
declare
  v_parent text;
begin
  select i.parent_instance_id into v_parent from @SCHEMA@.instances i
   where i.instance_id = p_instance_id;
  if not found then
    raise exception 'Instance not found: %', p_instance_id using errcode = 'DX004';
  end if;
  if v_parent is not null then
    raise exception 'Cannot delete sub-orchestration % directly: delete root instance % instead',
      p_instance_id, v_parent using errcode = 'DX007';
  end if;
  return @SCHEMA@.delete_instances(@SCHEMA@.instance_tree_ids(array[p_instance_id]), p_force);
end
$$;

-- Deletes up to p_limit terminal root instances (with their trees) matching the filters.
create function @SCHEMA@.delete_instance_bulk(
  p_ids jsonb, p_completed_before bigint, p_limit integer
) returns jsonb
language plpgsql as $$
declare
  v_roots text[];
begin
  select coalesce(array_agg(r.instance_id), '{}') into v_roots
    from (
      select i.instance_id
        from @SCHEMA@.instances i
        join @SCHEMA@.executions e
          on e.instance_id = i.instance_id and e.execution_id = i.current_execution_id
       where i.parent_instance_id is null
         and e.status in ('Completed', 'Failed', 'ContinuedAsNew')
         and (p_ids is null or i.instance_id in (select jsonb_array_elements_text(p_ids)))
         and (p_completed_before is null or e.completed_at_ms < p_completed_before)
       order by i.created_at_ms, i.instance_id
       limit p_limit
    ) r;
  return @SCHEMA@.delete_instances(@SCHEMA@.instance_tree_ids(v_roots), true);
end
$$;

-- Deletes old executions of the given instances, never the current or a running one.
-- p_keep_last keeps the newest N executions (NULL, 0 and 1 keep only the current one).
create function @SCHEMA@.prune_instances(
  p_ids text[], p_keep_last integer, p_completed_before bigint
) returns jsonb
language plpgsql as $$
declare
  v_executions bigint;
  v_events bigint;
begin
  with doomed as (
    select e.instance_id, e.execution_id
      from @SCHEMA@.executions e
      join @SCHEMA@.instances i on i.instance_id = e.instance_id
     where e.instance_id = any (p_ids)
       and e.execution_id <> i.current_execution_id
       and e.status <> 'Running'
       and (p_completed_before is null or e.completed_at_ms < p_completed_before)
       and (coalesce(p_keep_last, 0) <= 1 or e.execution_id not in (
              select k.execution_id from @SCHEMA@.executions k
               where k.instance_id = e.instance_id
               order by k.execution_id desc limit p_keep_last))
  ), events as (
    delete from @SCHEMA@.history h using doomed d
     where h.instance_id = d.instance_id and h.execution_id = d.execution_id
    returning 1
  ), executions as (
    delete from @SCHEMA@.executions e using doomed d
     where e.instance_id = d.instance_id and e.execution_id = d.execution_id
    returning 1
  )
  select (select count(*) from events), (select count(*) from executions)
    into v_events, v_executions;
  return jsonb_build_object('instances_processed', coalesce(array_length(p_ids, 1), 0),
                            'executions_deleted', v_executions,
                            'events_deleted', v_events);
end
$$;

create function @SCHEMA@.prune_executions(
  p_instance_id text, p_keep_last integer, p_completed_before bigint
) returns jsonb
language plpgsql as $$
begin
  if not exists (select 1 from @SCHEMA@.instances where instance_id = p_instance_id) then
    raise exception 'Instance not found: %', p_instance_id using errcode = 'DX004';
  end if;
  return @SCHEMA@.prune_instances(array[p_instance_id], p_keep_last, p_completed_before);
end
$$;

-- Prunes up to p_limit instances (running ones included) matching the filters.
create function @SCHEMA@.prune_executions_bulk(
  p_ids jsonb, p_filter_completed_before bigint, p_limit integer, p_keep_last integer,
  p_completed_before bigint
) returns jsonb
language plpgsql as $$
declare
  v_ids text[];
begin
  select coalesce(array_agg(s.instance_id), '{}') into v_ids
    from (
      select i.instance_id
        from @SCHEMA@.instances i
        left join @SCHEMA@.executions e
          on e.instance_id = i.instance_id and e.execution_id = i.current_execution_id
       where (p_ids is null or i.instance_id in (select jsonb_array_elements_text(p_ids)))
         and (p_filter_completed_before is null or e.completed_at_ms < p_filter_completed_before)
       order by i.created_at_ms, i.instance_id
       limit p_limit
    ) s;
  return @SCHEMA@.prune_instances(v_ids, p_keep_last, p_completed_before);
end
$$;

-- delete_instances with the ids as a JSON array (the form drivers bind most portably).
create function @SCHEMA@.delete_instances_json(p_ids jsonb, p_force boolean) returns jsonb
language sql as $$
  select @SCHEMA@.delete_instances(array(select jsonb_array_elements_text(p_ids)), p_force)
$$;

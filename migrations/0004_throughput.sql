-- Throughput: batched calls (several fetches, or several acks, in one round trip and one
-- commit) and a cheaper candidate scan for orchestration fetches.
--
-- Each batch function repeats the single-item procedure inside one transaction, so every item
-- keeps exactly the single call's semantics (locks, leases, validation, atomicity). An ack batch
-- runs each item in its own subtransaction: a failed item changes nothing and does not undo the
-- others; its SQLSTATE and message are returned in its slot of the result array.

-- The candidate scan of fetch_orchestration_item, made cheap for the common case. Unchanged
-- otherwise (see 0001 for the whole contract of the function).
create or replace function @SCHEMA@.fetch_orchestration_item(
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
       -- message_fetchable(), written out: a function with subqueries is never inlined, and
       -- calling it per candidate row dominated the fetch. The common case (the instance
       -- exists, or the message starts it) is decided by the first two terms.
       and (q.kind in ('StartOrchestration', 'ContinueAsNew')
            or exists (select 1 from @SCHEMA@.instances i where i.instance_id = q.instance_id)
            or @SCHEMA@.message_fetchable(q.instance_id, q.kind, p_now_ms))
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


-- Rejects a batch size outside 1..1000 with DX010.
create function @SCHEMA@.check_batch_size(p_max_items integer) returns void
language plpgsql as $$
begin
  if p_max_items is null or p_max_items < 1 or p_max_items > 1000 then
    raise exception 'Invalid batch size: expected 1..1000, got %', p_max_items
      using errcode = 'DX010';
  end if;
end
$$;

-- Locks up to p_max_items instances, each as fetch_orchestration_item would, and returns
-- their turns as an array (empty when nothing is visible).
create function @SCHEMA@.fetch_orchestration_items(
  p_now_ms bigint, p_lock_timeout_ms bigint, p_min_version bigint, p_max_version bigint,
  p_max_items integer
) returns jsonb
language plpgsql as $$
declare
  v_items jsonb := '[]'::jsonb;
  v_item jsonb;
begin
  perform @SCHEMA@.check_batch_size(p_max_items);
  -- A fetch writes only leases and attempt counts, which a server crash may lose without
  -- harm (the holder's connection dies with it, its ack fails, the item is fetched again),
  -- so its commit does not wait for the WAL flush. Enqueues and acks stay synchronous, and a
  -- later synchronous commit flushes this one too, so no acknowledged state is weakened.
  perform set_config('synchronous_commit', 'off', true);
  for v_index in 1..p_max_items loop
    v_item := @SCHEMA@.fetch_orchestration_item(
      p_now_ms, p_lock_timeout_ms, p_min_version, p_max_version);
    exit when v_item is null;
    v_items := v_items || jsonb_build_array(v_item);
  end loop;
  return v_items;
end
$$;

-- Locks up to p_max_items activities with fetch_work_item's rules (tags; sessions claimed for
-- p_owner_id, or skipped when another owner holds them) in one set-based statement: the
-- candidates are taken oldest first with SKIP LOCKED, their sessions claimed together, and
-- every candidate whose session claim held is leased. (Repeating the single fetch would
-- re-scan the rows this transaction already leased, quadratic in the batch size.)
-- Returns [{work_item, lock_token, attempt_count}] oldest first; empty when nothing is visible.
create function @SCHEMA@.fetch_work_items(
  p_now_ms bigint, p_lock_timeout_ms bigint, p_owner_id text, p_session_lock_timeout_ms bigint,
  p_tag_mode text, p_tags jsonb, p_max_items integer
) returns jsonb
language plpgsql as $$
declare
  v_tags text[] := array(select jsonb_array_elements_text(coalesce(p_tags, '[]'::jsonb)));
  v_items jsonb;
begin
  perform @SCHEMA@.check_batch_size(p_max_items);
  -- A fetch writes only leases, session claims and attempt counts, which a server crash may
  -- lose without harm (the holder's connection dies with it, its ack fails, the item is
  -- fetched again), so its commit does not wait for the WAL flush. Enqueues and acks stay
  -- synchronous, and a later synchronous commit flushes this one too.
  perform set_config('synchronous_commit', 'off', true);
  with picked as (
    select w.id, w.session_id, w.visible_at
      from @SCHEMA@.worker_queue w
     where w.visible_at <= p_now_ms
       and (p_tag_mode = 'any'
            or (w.tag is null and p_tag_mode in ('default_only', 'default_and'))
            or (w.tag = any (v_tags) and p_tag_mode in ('tags', 'default_and')))
       and (w.session_id is null
            or (p_owner_id is not null
                and not exists (select 1 from @SCHEMA@.sessions s
                                 where s.session_id = w.session_id
                                   and s.locked_until > p_now_ms
                                   and s.worker_id <> p_owner_id)))
     order by w.visible_at, w.id
     limit p_max_items
       for update skip locked
  ), claimed as (
    insert into @SCHEMA@.sessions as s (session_id, worker_id, locked_until, last_activity_at)
    select distinct p.session_id, p_owner_id,
           p_now_ms + @SCHEMA@.wait_ms() + p_session_lock_timeout_ms, p_now_ms + @SCHEMA@.wait_ms()
      from picked p
     where p.session_id is not null
    on conflict (session_id) do update
       set worker_id = excluded.worker_id,
           locked_until = excluded.locked_until,
           last_activity_at = excluded.last_activity_at
     where s.locked_until <= p_now_ms or s.worker_id = excluded.worker_id
    returning s.session_id
  ), leased as (
    update @SCHEMA@.worker_queue w
       set lock_token = gen_random_uuid()::text,
           locked_until = p_now_ms + @SCHEMA@.wait_ms() + p_lock_timeout_ms,
           visible_at = p_now_ms + @SCHEMA@.wait_ms() + p_lock_timeout_ms,
           attempt_count = w.attempt_count + 1
      from picked p
     where w.id = p.id
       and (p.session_id is null or p.session_id in (select c.session_id from claimed c))
    returning w.id, p.visible_at as was_visible_at, w.work_item, w.lock_token, w.attempt_count
  )
  select coalesce(jsonb_agg(jsonb_build_object(
           'work_item', l.work_item, 'lock_token', l.lock_token,
           'attempt_count', l.attempt_count) order by l.was_visible_at, l.id), '[]'::jsonb)
    into v_items
    from leased l;
  return v_items;
end
$$;

-- Acks activities: p_items is [{lock_token, completion}] with completion as ack_work_item
-- takes it. Returns one slot per item, in order: null on success, else {code, message}.
create function @SCHEMA@.ack_work_items(p_now_ms bigint, p_items jsonb) returns jsonb
language plpgsql as $$
declare
  v_results jsonb := '[]'::jsonb;
  v_item jsonb;
begin
  perform @SCHEMA@.check_batch_size(jsonb_array_length(p_items));
  for v_item in select value from jsonb_array_elements(p_items) loop
    begin
      perform @SCHEMA@.ack_work_item(
        v_item ->> 'lock_token', p_now_ms, nullif(v_item -> 'completion', 'null'::jsonb));
      v_results := v_results || jsonb_build_array(null::jsonb);
    exception when others then
      v_results := v_results || jsonb_build_array(
        jsonb_build_object('code', sqlstate, 'message', sqlerrm));
    end;
  end loop;
  return v_results;
end
$$;

-- Acks turns: p_items is [{lock_token, execution_id, history, worker, orchestrator, metadata,
-- custom_status, kv, cancelled}], each field as ack_orchestration_item takes it. Returns one
-- slot per item, in order: null on success, else {code, message}.
create function @SCHEMA@.ack_orchestration_items(p_now_ms bigint, p_items jsonb) returns jsonb
language plpgsql as $$
declare
  v_results jsonb := '[]'::jsonb;
  v_item jsonb;
begin
  perform @SCHEMA@.check_batch_size(jsonb_array_length(p_items));
  for v_item in select value from jsonb_array_elements(p_items) loop
    begin
      perform @SCHEMA@.ack_orchestration_item(
        v_item ->> 'lock_token', p_now_ms, (v_item ->> 'execution_id')::bigint,
        v_item -> 'history', v_item -> 'worker', v_item -> 'orchestrator', v_item -> 'metadata',
        nullif(v_item -> 'custom_status', 'null'::jsonb), v_item -> 'kv', v_item -> 'cancelled');
      v_results := v_results || jsonb_build_array(null::jsonb);
    exception when others then
      v_results := v_results || jsonb_build_array(
        jsonb_build_object('code', sqlstate, 'message', sqlerrm));
    end;
  end loop;
  return v_results;
end
$$;

-- Enqueues activities in one statement: p_items is [{work_item, instance_id, execution_id,
-- activity_id, session_id, tag}], each as enqueue_worker_item takes it. All or nothing; ids
-- (and so fetch order) follow the array order of the function scan.
create function @SCHEMA@.enqueue_worker_items(p_items jsonb, p_now_ms bigint) returns jsonb
language plpgsql as $$
begin
  perform @SCHEMA@.check_batch_size(jsonb_array_length(p_items));
  insert into @SCHEMA@.worker_queue (work_item, visible_at, instance_id, execution_id,
    activity_id, session_id, tag, created_at_ms)
  select x.work_item, p_now_ms, x.instance_id, x.execution_id, x.activity_id, x.session_id,
         x.tag, p_now_ms
    from jsonb_to_recordset(p_items) as x(work_item text, instance_id text, execution_id bigint,
      activity_id bigint, session_id text, tag text);
  return null;
end
$$;

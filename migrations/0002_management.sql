-- 0002 management: system figures without scanning history, and keyset pagination.
--
-- * executions.event_count counts each execution's history rows; every history write keeps it
--   current, so totals and execution info never count the history table.
-- * instances.status mirrors the status of the instance's current execution, indexed, so
--   listing by status and the per-status totals read the instances table only.
-- * list_instances_page pages through instance ids by key (a stable cursor).

alter table @SCHEMA@.executions add column event_count bigint not null default 0;
update @SCHEMA@.executions e
   set event_count = (select count(*) from @SCHEMA@.history h
                       where h.instance_id = e.instance_id and h.execution_id = e.execution_id);

alter table @SCHEMA@.instances add column status text;
update @SCHEMA@.instances i
   set status = coalesce((select e.status from @SCHEMA@.executions e
                           where e.instance_id = i.instance_id
                             and e.execution_id = i.current_execution_id), 'Running');
alter table @SCHEMA@.instances alter column status set not null;
create index instances_status_idx on @SCHEMA@.instances (status, instance_id);

create or replace function @SCHEMA@.ack_orchestration_item(
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
      current_execution_id, parent_instance_id, status, created_at_ms, updated_at_ms)
    values (v_instance, v_name, v_version, p_execution_id, p_metadata ->> 'parent_instance_id',
      'Running', p_now_ms, p_now_ms)
    on conflict (instance_id) do update
       set orchestration_name = excluded.orchestration_name,
           orchestration_version = excluded.orchestration_version;
  end if;

  insert into @SCHEMA@.executions (instance_id, execution_id, status, started_at_ms)
  values (v_instance, p_execution_id, 'Running', p_now_ms)
  on conflict (instance_id, execution_id) do nothing;

  insert into @SCHEMA@.history (instance_id, execution_id, event_id, event_type, event_data,
    created_at_ms)
  select v_instance, p_execution_id, (e ->> 'event_id')::bigint, e ->> 'event_type',
         e ->> 'event_data', p_now_ms
    from jsonb_array_elements(p_history) e;

  -- One update of the execution: its event count, pinned version and status.
  update @SCHEMA@.executions
     set event_count = event_count + jsonb_array_length(p_history),
         pinned_major = coalesce((p_metadata -> 'pinned' ->> 'major')::integer, pinned_major),
         pinned_minor = coalesce((p_metadata -> 'pinned' ->> 'minor')::integer, pinned_minor),
         pinned_patch = coalesce((p_metadata -> 'pinned' ->> 'patch')::integer, pinned_patch),
         status = coalesce(v_status, status),
         output = case when v_status is null then output else p_metadata ->> 'output' end,
         completed_at_ms = case when v_status in ('Completed', 'Failed', 'ContinuedAsNew')
                                then p_now_ms else completed_at_ms end
   where instance_id = v_instance and execution_id = p_execution_id;

  -- The instance follows its newest execution (id and status) and takes the custom status.
  update @SCHEMA@.instances i
     set current_execution_id = greatest(i.current_execution_id, p_execution_id),
         status = coalesce((select e.status from @SCHEMA@.executions e
                             where e.instance_id = v_instance
                               and e.execution_id = greatest(i.current_execution_id, p_execution_id)),
                           i.status),
         updated_at_ms = p_now_ms,
         custom_status = case when p_custom_status is null then i.custom_status
                              else p_custom_status ->> 'value' end,
         custom_status_version = i.custom_status_version
                                 + case when p_custom_status is null then 0 else 1 end
   where i.instance_id = v_instance;

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

create or replace function @SCHEMA@.append_history(
  p_instance_id text, p_execution_id bigint, p_events jsonb, p_now_ms bigint
) returns jsonb
language sql as $$
  insert into @SCHEMA@.history (instance_id, execution_id, event_id, event_type, event_data,
    created_at_ms)
  select p_instance_id, p_execution_id, (e ->> 'event_id')::bigint, e ->> 'event_type',
         e ->> 'event_data', p_now_ms
    from jsonb_array_elements(p_events) e;
  update @SCHEMA@.executions
     set event_count = event_count + jsonb_array_length(p_events)
   where instance_id = p_instance_id and execution_id = p_execution_id;
  select null::jsonb;
$$;

-- Instance ids, newest first; with p_status, only those whose current execution has it.
create or replace function @SCHEMA@.list_instances(p_status text) returns jsonb
language sql stable as $$
  select coalesce(jsonb_agg(i.instance_id order by i.created_at_ms desc, i.instance_id), '[]'::jsonb)
    from @SCHEMA@.instances i
   where p_status is null or i.status = p_status
$$;

-- One page of instance ids in id order, after the cursor p_after (exclusive):
-- {instance_ids, next_cursor}; next_cursor is NULL on the last page.
create function @SCHEMA@.list_instances_page(p_status text, p_after text, p_limit integer)
returns jsonb
language sql stable as $$
  select jsonb_build_object(
           'instance_ids', coalesce(jsonb_agg(p.instance_id order by p.instance_id), '[]'::jsonb),
           'next_cursor', case when count(*) = p_limit then max(p.instance_id) end)
    from (
      select i.instance_id
        from @SCHEMA@.instances i
       where (p_status is null or i.status = p_status)
         and (p_after is null or i.instance_id > p_after)
       order by i.instance_id
       limit p_limit
    ) p
$$;

-- Totals from the instances and executions tables (index scans), never from history.
create or replace function @SCHEMA@.get_system_metrics() returns jsonb
language sql stable as $$
  select jsonb_build_object(
    'total_instances', (select count(*) from @SCHEMA@.instances),
    'running_instances', (select count(*) from @SCHEMA@.instances where status = 'Running'),
    'completed_instances', (select count(*) from @SCHEMA@.instances where status = 'Completed'),
    'failed_instances', (select count(*) from @SCHEMA@.instances where status = 'Failed'),
    'total_executions', (select count(*) from @SCHEMA@.executions),
    'total_events', (select coalesce(sum(event_count), 0) from @SCHEMA@.executions))
$$;

create or replace function @SCHEMA@.get_execution_info(p_instance_id text, p_execution_id bigint)
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
           'event_count', e.event_count)
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

-- 0003 long polling: NOTIFY wakes waiting dispatchers, and a refresh query finds work that
-- becomes available without any write (expired leases, delayed items, expired sessions).
--
-- Notifications are sent by statement-level triggers, so one statement sends at most one
-- notification per queue, and NOTIFY is delivered at commit, when the rows are visible.
-- The payload is the earliest visible_at (epoch ms) among the rows concerned; a listener
-- turns a future time into a local timer. Channel names are derived from the schema name.

-- The channel of a queue ('orch', 'work') or of instance changes ('status') in this schema.
create function @SCHEMA@.notify_channel(p_topic text) returns text
language sql immutable as $$
  select 'dx_' || left(md5('@SCHEMA@'), 20) || '_' || p_topic
$$;

-- New orchestrator messages.
create function @SCHEMA@.notify_orchestrator_insert() returns trigger
language plpgsql as $$
declare
  v_at bigint;
begin
  select min(visible_at) into v_at from new_rows;
  if v_at is not null then
    perform pg_notify(@SCHEMA@.notify_channel('orch'), v_at::text);
  end if;
  return null;
end
$$;
create trigger orchestrator_queue_notify after insert on @SCHEMA@.orchestrator_queue
  referencing new table as new_rows
  for each statement execute function @SCHEMA@.notify_orchestrator_insert();

-- A released instance lock (ack, abandon, delete): messages that arrived during the turn, or
-- an abandoned batch, are now fetchable, at their visible_at.
create function @SCHEMA@.notify_instance_unlocked() returns trigger
language plpgsql as $$
declare
  v_at bigint;
begin
  select min(q.visible_at) into v_at
    from old_rows o
    join @SCHEMA@.orchestrator_queue q on q.instance_id = o.instance_id;
  if v_at is not null then
    perform pg_notify(@SCHEMA@.notify_channel('orch'), v_at::text);
  end if;
  return null;
end
$$;
create trigger instance_locks_notify after delete on @SCHEMA@.instance_locks
  referencing old table as old_rows
  for each statement execute function @SCHEMA@.notify_instance_unlocked();

-- New activities, and activities released by abandon (lock_token cleared).
create function @SCHEMA@.notify_worker_rows() returns trigger
language plpgsql as $$
declare
  v_at bigint;
begin
  select min(visible_at) into v_at from new_rows where lock_token is null;
  if v_at is not null then
    perform pg_notify(@SCHEMA@.notify_channel('work'), v_at::text);
  end if;
  return null;
end
$$;
create trigger worker_queue_notify_insert after insert on @SCHEMA@.worker_queue
  referencing new table as new_rows
  for each statement execute function @SCHEMA@.notify_worker_rows();
create trigger worker_queue_notify_update after update on @SCHEMA@.worker_queue
  referencing new table as new_rows
  for each statement execute function @SCHEMA@.notify_worker_rows();

-- An instance reached another status or changed its custom status: the payload is its id.
create function @SCHEMA@.notify_instance_changed() returns trigger
language plpgsql as $$
begin
  perform pg_notify(@SCHEMA@.notify_channel('status'), new.instance_id);
  return null;
end
$$;
create trigger instances_notify_change after update on @SCHEMA@.instances
  for each row
  when (old.status is distinct from new.status
        or old.custom_status_version is distinct from new.custom_status_version)
  execute function @SCHEMA@.notify_instance_changed();
create trigger instances_notify_insert after insert on @SCHEMA@.instances
  for each row execute function @SCHEMA@.notify_instance_changed();

-- The refresh of a listener: when work becomes due without any write. Returns
-- {orch_due, orch_times, work_due, work_times}: whether work is due now, and the distinct
-- times (at most 256 per queue) within p_horizon_ms at which more becomes due: delayed
-- messages and timers, instance and activity leases that end, sessions that expire. It also
-- sends p_ping on the orch channel, so the listener can tell that its connection still works.
create function @SCHEMA@.long_poll_refresh(p_now_ms bigint, p_horizon_ms bigint, p_ping text)
returns jsonb
language plpgsql as $$
declare
  v_until bigint := p_now_ms + p_horizon_ms;
begin
  perform pg_notify(@SCHEMA@.notify_channel('orch'), p_ping);
  return jsonb_build_object(
    'orch_due', exists (
      select 1 from @SCHEMA@.orchestrator_queue q
       where q.visible_at <= p_now_ms
         and not exists (select 1 from @SCHEMA@.instance_locks l
                          where l.instance_id = q.instance_id and l.locked_until > p_now_ms)
         and @SCHEMA@.message_fetchable(q.instance_id, q.kind, p_now_ms)),
    'orch_times', coalesce((
      select jsonb_agg(t order by t) from (
        select distinct t from (
          select q.visible_at as t from @SCHEMA@.orchestrator_queue q
           where q.visible_at > p_now_ms and q.visible_at <= v_until
          union
          select l.locked_until from @SCHEMA@.instance_locks l
           where l.locked_until > p_now_ms and l.locked_until <= v_until
             and exists (select 1 from @SCHEMA@.orchestrator_queue q
                          where q.instance_id = l.instance_id)
        ) times order by t limit 256) picked), '[]'::jsonb),
    'work_due', exists (
      select 1 from @SCHEMA@.worker_queue w where w.visible_at <= p_now_ms),
    'work_times', coalesce((
      select jsonb_agg(t order by t) from (
        select distinct t from (
          select w.visible_at as t from @SCHEMA@.worker_queue w
           where w.visible_at > p_now_ms and w.visible_at <= v_until
          union
          select s.locked_until from @SCHEMA@.sessions s
           where s.locked_until > p_now_ms and s.locked_until <= v_until
             and exists (select 1 from @SCHEMA@.worker_queue w where w.session_id = s.session_id)
        ) times order by t limit 256) picked), '[]'::jsonb));
end
$$;

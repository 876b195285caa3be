-- Least privilege: the provider's operations run with the rights of the role that ran the
-- migrations (the owner of the tables), so the role the provider uses at run time needs only
-- USAGE on the schema and EXECUTE on the operations, and no access to any table
-- (docs/security.md; grantRuntimeRole grants exactly that).
--
-- An operation is a function the provider calls; every one returns jsonb. Each becomes
-- SECURITY DEFINER with search_path pinned to this schema and pg_temp (last, so a caller's
-- temporary objects can never shadow anything), and EXECUTE is taken from PUBLIC, which
-- PostgreSQL grants on every new function: otherwise any role that can see the schema could
-- act as its owner. The helpers (boolean, bigint, text, void and trigger functions) stay
-- SECURITY INVOKER: only the operations call them, and a helper with SECURITY DEFINER or SET
-- could no longer be inlined into the fetch's candidate scan.
--
-- CREATE OR REPLACE FUNCTION keeps the grants but resets SECURITY DEFINER and SET, so every
-- later migration that creates or replaces an operation must end with
--   select @SCHEMA@.secure_operations(array['<name>', ...]);
-- (migrations/README.md).

-- Applies the rule above to every function of this schema with one of these names, and fails
-- with DX010 for a name that matches none (a typo would otherwise leave an operation open).
create function @SCHEMA@.secure_operations(p_names text[]) returns void
language plpgsql as $$
declare
  v_missing text;
  v_function text;
begin
  select string_agg(n, ', ') into v_missing
    from unnest(p_names) n
   where not exists (select 1 from pg_proc p
                      where p.pronamespace = '@SCHEMA@'::regnamespace and p.proname = n);
  if v_missing is not null then
    raise exception 'secure_operations: no function named %', v_missing using errcode = 'DX010';
  end if;
  for v_function in
    select format('%s.%I(%s)', '@SCHEMA@', p.proname, pg_get_function_identity_arguments(p.oid))
      from pg_proc p
     where p.pronamespace = '@SCHEMA@'::regnamespace and p.proname = any (p_names)
  loop
    execute format('alter function %s security definer set search_path = %s, pg_temp',
                   v_function, '@SCHEMA@');
    execute format('revoke execute on function %s from public', v_function);
  end loop;
end
$$;
-- Only the owner may run it (it alters functions); nobody else needs to.
revoke execute on function @SCHEMA@.secure_operations(text[]) from public;

select @SCHEMA@.secure_operations(array[
  -- orchestrator queue and history
  'enqueue_orchestrator_item', 'fetch_orchestration_item', 'fetch_orchestration_items',
  'ack_orchestration_item', 'ack_orchestration_items', 'abandon_orchestration_item',
  'renew_orchestration_item_lock', 'read_history', 'append_history',
  -- worker queue and sessions
  'enqueue_worker_item', 'enqueue_worker_items', 'fetch_work_item', 'fetch_work_items',
  'ack_work_item', 'ack_work_items', 'renew_work_item_lock', 'abandon_work_item',
  'renew_session_lock', 'cleanup_orphaned_sessions',
  -- status, KV, stats
  'get_custom_status', 'get_kv_value', 'get_kv_all_values', 'get_instance_stats',
  -- management
  'list_instances', 'list_instances_page', 'list_executions', 'get_instance_info',
  'get_execution_info', 'get_system_metrics', 'get_queue_depths', 'list_children',
  'get_parent_id', 'get_instance_tree', 'delete_instances', 'delete_instances_json',
  'delete_instance', 'delete_instance_bulk', 'prune_instances', 'prune_executions',
  'prune_executions_bulk',
  -- long polling
  'long_poll_refresh'
]);

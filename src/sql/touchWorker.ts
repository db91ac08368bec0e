/**
 * The long-running worker's liveness beat (upstream: every 30 s): `status` and Django count a worker alive
 * while last_seen_at is under two minutes old. The drain registers the row; this only refreshes it.
 */
export const TOUCH_WORKER = `UPDATE reproq_workers SET last_seen_at = NOW() WHERE worker_id = $1`;

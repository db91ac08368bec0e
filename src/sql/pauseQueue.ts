/**
 * Pauses queue $1 (upsert, as Django's update_or_create): workers stop claiming from it; running tasks go on.
 * The reason ($2) is kept for the admin.
 */
export const PAUSE_QUEUE = `
INSERT INTO reproq_queue_controls (queue_name, paused, paused_at, reason, created_at, updated_at)
VALUES ($1, TRUE, NOW(), $2, NOW(), NOW())
ON CONFLICT (queue_name) DO UPDATE
SET paused = TRUE, paused_at = NOW(), reason = EXCLUDED.reason, updated_at = NOW()
RETURNING queue_name, paused, paused_at, reason
`;

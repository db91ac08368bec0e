/** Resumes queue $1 with Django's values (paused_at NULL, reason cleared); an unknown queue gets its row too. */
export const RESUME_QUEUE = `
INSERT INTO reproq_queue_controls (queue_name, paused, paused_at, reason, created_at, updated_at)
VALUES ($1, FALSE, NULL, '', NOW(), NOW())
ON CONFLICT (queue_name) DO UPDATE
SET paused = FALSE, paused_at = NULL, reason = '', updated_at = NOW()
RETURNING queue_name, paused
`;

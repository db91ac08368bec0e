-- 0004_claim_key_locks: makes lock_key and concurrency_limit hold across concurrent drains. Additive only: the
-- Go worker and Django never call this function.
--
-- The claim checks "no RUNNING row holds this lock_key" and "fewer RUNNING rows with this concurrency_key than
-- the limit" against its statement's snapshot, which cannot see a claim another drain has made but not yet
-- committed: both drains then run a task with the same lock_key. The claim calls reproq_claim_keys() for each
-- candidate that carries a key, after the candidate is row-locked. It takes a transaction-scoped advisory lock
-- per key, then counts the RUNNING rows of the key again. A VOLATILE function takes a fresh snapshot for each
-- query it runs, and the lock is released only when the claimer's transaction ends (after its RUNNING rows are
-- visible to everyone), so whoever holds the lock sees every committed claim of the key and no other drain can
-- claim that key until the holder's claim is visible. Claimers on one key are serialised; on different keys they
-- do not meet. It is race-free for Reproq Edge drains only: the Go worker's claim takes no such lock.
--
-- Why an advisory lock and not a lock row per key (graphile-worker's job_queues): a lock row must record who
-- holds it and be cleared by every statement that ends a keyed task, but the Go worker, Django and psql end
-- tasks too and would never clear it. The advisory lock derives "held" from the RUNNING rows themselves, leaves
-- nothing behind when a claimer dies, costs no write, and is transaction-scoped, so it works over Neon's HTTP
-- driver (one statement, one transaction) and behind transaction-mode poolers (no session state).
--
-- pg_try_advisory_xact_lock never waits: a claimer that finds a key busy skips that candidate (a later claim
-- takes it), so claimers taking several keys cannot deadlock. Keys are hashed into the two-int advisory
-- space, in their own namespaces ('RQLK' = 1381059659 for lock_key, 'RQCK' = 1381057355 for concurrency_key);
-- two keys with the same hashtext only serialise each other's claims.
--
-- Semantics are upstream's: a NULL lock_key means no lock and '' is a real one; a NULL or '' concurrency_key
-- or a limit <= 0 means unlimited. `slot` is the candidate's rank among the batch's candidates of its
-- concurrency_key (1 for the first), so the batch takes no more rows of a key than its free slots.
CREATE OR REPLACE FUNCTION reproq_claim_keys(want_lock text, want_concurrency text, concurrency_cap integer, slot bigint)
RETURNS boolean
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    IF want_lock IS NOT NULL THEN
        IF NOT pg_try_advisory_xact_lock(1381059659, hashtext(want_lock)) THEN
            RETURN FALSE;
        END IF;
        IF EXISTS (SELECT 1 FROM task_runs r WHERE r.lock_key = want_lock AND r.status = 'RUNNING') THEN
            RETURN FALSE;
        END IF;
    END IF;
    IF want_concurrency IS NOT NULL AND want_concurrency <> '' AND concurrency_cap > 0 THEN
        IF NOT pg_try_advisory_xact_lock(1381057355, hashtext(want_concurrency)) THEN
            RETURN FALSE;
        END IF;
        RETURN slot + (SELECT count(*) FROM task_runs r
                       WHERE r.concurrency_key = want_concurrency AND r.status = 'RUNNING') <= concurrency_cap;
    END IF;
    RETURN TRUE;
END
$$;

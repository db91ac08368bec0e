/**
 * The jobs a platform schedule or an HTTP call can trigger (src/jobs.ts runs them). Apart, so an
 * entry point can check its cron mapping without loading the jobs themselves.
 */
export const JOB_NAMES = ['drain', 'beat', 'reclaim'] as const;
export type JobName = (typeof JOB_NAMES)[number];

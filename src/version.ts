/** Reported in reproq_workers.version and `reproq --version`. */
export const VERSION = '0.1.0';

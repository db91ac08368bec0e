/** Metrics from the database: one snapshot, rendered for Prometheus or as Django's stats JSON. */
export { collectMetrics, MetricsOptionsSchema, type MetricsOptions, type MetricsSnapshot, type QueueMetrics } from './collect.ts';
export { renderPrometheus } from './prometheus.ts';
export { renderStats, type StatsOptions } from './stats.ts';

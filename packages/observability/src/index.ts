export { type GrafanaDashboardOptions, grafanaDashboard } from './dashboard';
export { type DefaultMetricsOptions, registerDefaultMetrics } from './default-metrics';
export { type CreateLoggerOptions, createLogger } from './logger';
export { createMetricsHandler, type MetricsHandlerOptions } from './metrics-handler';
export { type ObserverAlertOptions, observerAlertRules, observerRulesYaml } from './observer-rules';
export { createRedactor, isSecretKey, REDACTED, type Redactor } from './redact';
export {
  type AlertingRule,
  generateSloRules,
  type PrometheusRuleFile,
  type RecordingRule,
  type RuleGroup,
  SLO_BURN_RATE_ALERTS,
  SLO_ERROR_RATIO_WINDOWS,
  SLO_RECORDING_RULES,
  type SloRulesOptions,
  type SloWindow,
  sloRulesYaml,
} from './slo-rules';

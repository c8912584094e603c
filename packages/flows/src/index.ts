export {
  type ConnectorSpec,
  type FlowConfig,
  type FlowConfigOptions,
  type FlowSections,
  flowsFromConfig,
  type PluginSpec,
} from './config';
export {
  buildConnector,
  type FlowsRuntime,
  type FlowsRuntimeOptions,
  loadFlowsFile,
  loadPlugin,
  startFlowsFromConfig,
} from './config-runtime';
export { BUILTIN_STEPS, type CompiledFlow, compileFlow, Problems } from './definitions';
export { createFlowEngine } from './engine';
export { StepError } from './errors';
export { decode, encode, setFormatModuleLoader } from './formats';
export { safeCopy } from './json';
export { applyMapping, type CompiledMapping, compileMapping } from './mapping';
export { createPluginManager, definePlugin } from './plugins';
export { backoffDelay } from './step-support';
export type * from './types';

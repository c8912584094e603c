export { BUILTIN_STEPS, type CompiledFlow, compileFlow, Problems } from './definitions';
export { createFlowEngine } from './engine';
export { StepError } from './errors';
export { decode, encode, setFormatModuleLoader } from './formats';
export { safeCopy } from './json';
export { applyMapping, type CompiledMapping, compileMapping } from './mapping';
export { createPluginManager, definePlugin } from './plugins';
export { backoffDelay } from './step-support';
export type * from './types';

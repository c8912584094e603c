export { createMqttConnector } from './connector.ts';
export { topicMatches, validFilter, validTopic } from './topics.ts';
export type * from './types.ts';

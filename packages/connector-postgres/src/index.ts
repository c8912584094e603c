export {
  createPostgresConnector,
  type PostgresConnector,
  type PostgresConnectorOptions,
  type PostgresDestination,
  type PostgresPoolOptions,
  type PostgresSelect,
  type PostgresSslOptions,
  sslConfig,
} from './connector.ts';

import type { ChannelOptions } from '@grpc/grpc-js';
import type { Options as LoaderOptions } from '@grpc/proto-loader';

/**
 * TLS settings (config `tls { ca_cert, client_cert, client_key }`). Each value is either PEM text
 * (it contains `-----BEGIN`) or the path of a PEM file, read once when the connector is created.
 * `tls: {}` is TLS with the system's root certificates. Without `tls` the channel is plaintext.
 */
export interface GrpcTlsOptions {
  /** CA certificate(s) that signed the server's certificate. Default: the system's root CAs. */
  caCert?: string | Uint8Array;
  /** Client certificate for mutual TLS; needs `clientKey`. Default: none. */
  clientCert?: string | Uint8Array;
  /** Private key of `clientCert`. Never shown in errors or logs. Default: none. */
  clientKey?: string | Uint8Array;
}

export interface GrpcConnectorOptions {
  /** Connector name, used by flows and in every error message (`[connector-grpc <name>] …`). */
  name: string;
  /** The `.proto` file (or files) defining `service`. Missing or unparsable → IN002 at creation. */
  protoFile: string | string[];
  /** Fully qualified service name, `package.Service` (`inventory.Inventory`). Unknown → IN002 listing the services. */
  service: string;
  /** `host:port` (or any gRPC target such as `dns:///host:port`). */
  endpoint: string;
  /** TLS or mutual TLS; absent = plaintext. */
  tls?: GrpcTlsOptions;
  /** Deadline of each call, and the wait of `test()`. Default 5000 ms. */
  deadlineMs?: number;
  /**
   * @grpc/proto-loader options, merged over the defaults `{ keepCase: true, longs: String,
   * enums: String, defaults: true, oneofs: true }` (field names as in the .proto, 64-bit integers
   * and enums as strings so replies are plain JSON).
   */
  loaderOptions?: LoaderOptions;
  /** Channel options passed to @grpc/grpc-js as they are (keepalive, message sizes…). Default none. */
  channelOptions?: ChannelOptions;
}

export interface GrpcCallOptions {
  /** This call's deadline; default the connector's `deadlineMs`. */
  deadlineMs?: number;
  /** Request metadata (lower-case keys of `[0-9a-z_.-]`; `-bin` keys take bytes). Default none. */
  metadata?: Record<string, string | Uint8Array>;
}

/** What `request()` takes: the flow engine's connector request. `path` names the RPC. */
export interface GrpcRequest {
  /** Ignored (gRPC has no verbs); kept so enrich and http-shaped callers work. */
  method?: string;
  /**
   * The RPC: `Get`, `/inventory.Inventory/Get`, or with request fields in a query string:
   * `Get?sku={sku}&warehouse=main` (URL-decoded; merged over `body`).
   */
  path: string;
  /** The request message as a plain object. Default `{}`. */
  body?: unknown;
  /** Sent as request metadata. */
  headers?: Record<string, string>;
}

export interface GrpcResponse {
  /** Always 200: a non-OK gRPC status is thrown as a `GrpcStatusError`. */
  status: number;
  /** The reply message as a plain object. */
  body: unknown;
}

/** A flow message, as `deliver` receives it. */
export interface DeliverMessage {
  body: unknown;
  headers?: Record<string, string>;
  id?: string;
}

/**
 * Where `deliver` sends a message: `path` names the RPC (`Update`, or `Update?field=value`);
 * `method` is read as the RPC name only when `path` is absent and it is not an HTTP verb.
 */
export interface GrpcDestination {
  path?: string;
  method?: string;
  [key: string]: unknown;
}

export interface ConnectorTestResult {
  ok: boolean;
  latencyMs: number;
  detail?: string;
}

export interface GrpcConnector {
  readonly name: string;
  readonly type: 'grpc';
  /** The fully qualified service name. */
  readonly service: string;
  /** The unary methods of the service, as named in the .proto. */
  readonly methods: readonly string[];
  /** One unary call; resolves with the reply as a plain object. */
  call(method: string, body?: unknown, opts?: GrpcCallOptions): Promise<unknown>;
  request(req: GrpcRequest): Promise<GrpcResponse>;
  deliver(message: DeliverMessage, destination: GrpcDestination): Promise<void>;
  /** Waits for the channel to be ready (at most `deadlineMs`, plus ≤ 1 s to read why not). Never throws. */
  test(): Promise<ConnectorTestResult>;
  /** Closes the channel; idempotent. Calls afterwards fail with IN502. */
  close(): Promise<void>;
}

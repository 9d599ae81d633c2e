// The app interface: PEP 3333 (WSGI) in TypeScript. What app authors import from 'gatehouse'.

/** A body chunk: bytes, or a string sent as UTF-8. */
export type Chunk = string | Uint8Array;

/** What an app returns: chunks, produced synchronously or asynchronously. */
export type Body = Iterable<Chunk> | AsyncIterable<Chunk>;

/** The imperative `write()` returned by startResponse; resolves when the chunk has been handed on. */
export type Write = (chunk: Chunk) => Promise<void>;

/** `startResponse("200 OK", [["Content-Type", "text/plain"]])`; a second call only with `excInfo`. */
export type StartResponse = (status: string, headers: [string, string][], excInfo?: unknown) => Write;

/** The request body (`gateway.input`): EOF at the body's end, reads never block the thread. */
export interface GatewayInput extends AsyncIterable<Uint8Array> {
  /** Up to `size` bytes, or everything left when `size` is omitted; an empty array at EOF. */
  read(size?: number): Promise<Uint8Array>;
  /** One line including its '\n' (the last line may lack it); an empty array at EOF. */
  readline(): Promise<Uint8Array>;
}

/** `gateway.errors`: text written here lands in the server log, tagged with the app. */
export interface GatewayErrors {
  write(text: string): void;
  writelines(lines: Iterable<string>): void;
  flush(): void;
}

/** The CGI meta-variables (RFC 3875 §4.1) as strings; always present unless marked optional. */
export interface CgiVariables {
  REQUEST_METHOD: string;
  SCRIPT_NAME: string;
  PATH_INFO: string;
  QUERY_STRING: string;
  SERVER_NAME: string;
  SERVER_PORT: string;
  SERVER_PROTOCOL: string;
  SERVER_SOFTWARE: string;
  GATEWAY_INTERFACE: string;
  REMOTE_ADDR: string;
  CONTENT_TYPE?: string;
  CONTENT_LENGTH?: string;
  PATH_TRANSLATED?: string;
  REMOTE_HOST?: string;
  REMOTE_PORT?: string;
  REQUEST_URI?: string;
  REQUEST_SCHEME?: string;
  [header: `HTTP_${string}`]: string | undefined;
}

export interface GatewayKeys {
  'gateway.version': readonly [1, 0];
  'gateway.url_scheme': 'http' | 'https';
  'gateway.input': GatewayInput;
  'gateway.errors': GatewayErrors;
  /** True when other threads of this process may run the app at the same time (pool mode). */
  'gateway.multithread': boolean;
  /** True when other processes may run the app at the same time (CGI mode). */
  'gateway.multiprocess': boolean;
  /** True when the app runs once and its process then exits (CGI mode). */
  'gateway.run_once': boolean;
}

export interface Environ extends CgiVariables, GatewayKeys {
  [key: string]: unknown;
}

/** A WSGI-style app. */
export type App = (environ: Environ, startResponse: StartResponse) => Body | Promise<Body>;

/** A fetch-style app (Hono, Workers): `export default { fetch }`. */
export interface FetchHandler {
  fetch(request: Request, env: Environ): Response | Promise<Response>;
}

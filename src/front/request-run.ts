// One request on its way to a program (CGI script, app child or pool worker): what every runner needs.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestScope, Served } from './access-log.js';
import type { RequestFacts } from './environ.js';
import type { Logger } from './logger.js';

export interface RequestRun {
  req: IncomingMessage;
  res: ServerResponse;
  facts: RequestFacts;
  /** False for internal redirects, which carry no body. */
  withBody: boolean;
  /** Tagged with the request id (made on first use). */
  readonly log: Logger;
  /** Whether debug lines are wanted: checked without making `log`. */
  readonly debug: boolean;
  served: Served;
  /** Called, once, if the client leaves before the response finished (one 'close' listener serves every runner). */
  onClientGone: (() => void) | null;
}

/** A request (or one local-redirect hop of it) handed to a runner; its logger is made only if something logs. */
export class Run implements RequestRun {
  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly facts: RequestFacts,
    readonly withBody: boolean,
    readonly scope: RequestScope,
  ) {}

  get log(): Logger {
    return this.scope.log;
  }

  get debug(): boolean {
    return this.scope.debug;
  }

  get served(): Served {
    return this.scope.served;
  }

  get onClientGone(): (() => void) | null {
    return this.scope.onClientGone;
  }

  set onClientGone(fn: (() => void) | null) {
    this.scope.onClientGone = fn;
  }
}

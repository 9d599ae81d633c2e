// Script stdout → client: parse the headers, frame the body, stream it with backpressure, enforce --timeout.
import type { ServerResponse } from 'node:http';
import { GatewayError } from '../errors.js';
import { limits } from '../options.js';
import type { Logger } from '../logger.js';
import { CgiResponseParser } from './response-parser.js';
import { classifyResponse } from './response-kind.js';
import type { CgiChild } from './spawn.js';

export interface RelayContext {
  res: ServerResponse;
  log: Logger;
  timeoutMs: number;
  isHead: boolean;
  /**
   * For the gateway's own app children: a failure exit after headers means the body is incomplete,
   * so the response is cut rather than ended cleanly. Ordinary scripts' exit status is only logged.
   */
  strictExit: boolean;
  /** Aborted (with a GatewayError as reason) when the request side fails, e.g. a body over --max-body. */
  stop: AbortSignal;
}

export type RelayOutcome =
  | { kind: 'done' }
  | { kind: 'local-redirect'; location: string }
  | { kind: 'client-gone' }
  /** `timeout`: it was cut for staying silent past --timeout after its headers. */
  | { kind: 'cut'; why: string; timeout?: true };

const noBodyStatus = (s: number) => s === 204 || s === 304;

/**
 * Rejects with a GatewayError only while nothing has been sent (so the caller can still answer 502/504).
 * Once headers are out, failures cut the connection and resolve with `cut`.
 */
export function relayCgiResponse(child: CgiChild, ctx: RelayContext): Promise<RelayOutcome> {
  const { res, log } = ctx;
  const stdout = child.stdout;
  const parser = new CgiResponseParser({ lineBytes: limits.headerLineBytes, blockBytes: limits.headerBlockBytes });
  type Phase = 'headers' | 'holding' | 'streaming' | 'over';
  let phase: Phase = 'headers';
  let held: Buffer[] = [];
  let heldBytes = 0;
  let status = 200;
  /** The app child's Content-Length: once that many bytes came, the body is complete. */
  let declared: number | null = null;
  let sent = 0;
  let holdTimer: NodeJS.Timeout | undefined;

  return new Promise<RelayOutcome>((resolve, reject) => {
    // Before headers: the deadline for a complete header block. After: the longest silence allowed.
    let deadline = setTimeout(onTimeout, ctx.timeoutMs);

    const finish = (outcome: RelayOutcome | GatewayError) => {
      if (phase === 'over') return;
      phase = 'over';
      clearTimeout(deadline);
      clearTimeout(holdTimer);
      stdout.off('data', onData);
      stdout.off('end', onEnd);
      stdout.resume(); // whatever else the script writes is drained, so it is never blocked on a full pipe
      res.off('close', onClientClose);
      res.off('drain', onDrain);
      ctx.stop.removeEventListener('abort', onStop);
      if (outcome instanceof GatewayError) {
        child.kill(outcome.detail);
        reject(outcome);
      } else resolve(outcome);
    };

    const cut = (why: string, timeout = false) => {
      child.kill(why);
      log.warn({ code: 'CUT' }, `${why}: connection cut`);
      res.destroy();
      finish(timeout ? { kind: 'cut', why, timeout } : { kind: 'cut', why });
    };

    function onData(chunk: Buffer): void {
      if (phase === 'headers') {
        let parsed;
        try {
          parsed = parser.push(chunk);
          if (parsed === null) return;
          const response = classifyResponse(parsed.headers);
          if (response.kind === 'local-redirect') {
            child.kill('local redirect served by the front');
            return finish({ kind: 'local-redirect', location: response.location });
          }
          res.statusCode = status = response.status;
          res.statusMessage = response.reason;
          for (const [name, value] of response.fields) res.appendHeader(name, value);
          // Only the gateway's own app child is trusted to state its length (runApp computed it); any other
          // script's Content-Length is dropped unused, and the body is framed from what actually arrives.
          declared = !ctx.strictExit || ctx.isHead || noBodyStatus(status) ? null : response.declaredLength;
        } catch (e) {
          return finish(e instanceof GatewayError ? e : new GatewayError('CGI_BAD_HEADERS', String(e)));
        }
        phase = 'holding';
        // Hold the first body bytes briefly: if the body completes meanwhile, the front sends Content-Length.
        holdTimer = setTimeout(flushHeaders, limits.framingHoldMs);
        chunk = parsed.rest;
      }
      if (declared !== null) {
        const room = declared - heldBytes - sent;
        if (chunk.length > room) chunk = chunk.subarray(0, Math.max(room, 0)); // bytes past the script's own length are dropped
      }
      if (phase === 'holding') {
        if (chunk.length) held.push(chunk);
        heldBytes += chunk.length;
        if (declared !== null && heldBytes === declared) return endWithLength();
        if (heldBytes >= limits.framingHoldBytes) flushHeaders();
        return;
      }
      if (phase === 'streaming' && chunk.length) {
        write(chunk);
        if (declared !== null && sent === declared) {
          res.end();
          finish({ kind: 'done' });
        }
      }
    }

    /** The whole body is known before headers had to go out: frame it with Content-Length. */
    function endWithLength(): void {
      if (!noBodyStatus(status) && !(ctx.isHead && heldBytes === 0)) res.setHeader('Content-Length', heldBytes);
      res.end(held.length === 1 ? held[0] : Buffer.concat(held));
      finish({ kind: 'done' });
    }

    function flushHeaders(): void {
      if (phase !== 'holding') return;
      clearTimeout(holdTimer);
      phase = 'streaming';
      // The app child's own length is trusted (runApp computed it): frame with it even when the body is late,
      // so the framing does not depend on how the bytes happened to arrive.
      if (declared !== null) res.setHeader('Content-Length', declared);
      const body = held;
      held = [];
      heldBytes = 0;
      for (const c of body) write(c);
      if (body.length === 0) res.flushHeaders(); // headers are final: let the client see them now
    }

    function write(chunk: Buffer): void {
      restartSilenceTimer();
      sent += chunk.length;
      if (!res.write(chunk)) {
        stdout.pause();
        res.once('drain', onDrain);
      }
    }

    function onDrain(): void {
      stdout.resume();
    }

    function restartSilenceTimer(): void {
      clearTimeout(deadline);
      deadline = setTimeout(onTimeout, ctx.timeoutMs);
    }

    async function onEnd(): Promise<void> {
      if (phase === 'headers') {
        try {
          parser.end();
        } catch (e) {
          return finish(e as GatewayError);
        }
      }
      if (declared !== null) {
        const why = `program output ended ${declared - heldBytes - sent} bytes short of its Content-Length`;
        return phase === 'holding' ? finish(new GatewayError('CGI_BAD_HEADERS', why)) : cut(why);
      }
      if (ctx.strictExit) {
        const exit = await child.exited;
        if (phase === 'over') return;
        if (exit.code !== 0) return cut(`program failed (exit ${exit.code ?? exit.signal}) after its headers`);
      } else {
        // Output that ends because its script was killed is not a document: wait a moment for the exit status.
        // The framing hold stops meanwhile, so a body still held can yet become a 502 instead of a short 200.
        clearTimeout(holdTimer);
        const signal = await diedBySignal(child, limits.exitAfterEofMs);
        if (phase === 'over') return;
        if (signal !== null) {
          const why = `script died by ${signal} after ${heldBytes + sent} bytes of body`;
          return phase === 'holding' ? finish(new GatewayError('CGI_DIED', why)) : cut(why);
        }
      }
      if (phase === 'holding') return endWithLength();
      res.end();
      finish({ kind: 'done' });
    }

    function onTimeout(): void {
      if (phase === 'headers') {
        return finish(new GatewayError('TIMEOUT', `no complete header block within ${ctx.timeoutMs} ms`));
      }
      cut(`no output for ${ctx.timeoutMs} ms after the headers`, true);
    }

    function onClientClose(): void {
      if (res.writableFinished) return;
      child.kill('client disconnected');
      finish({ kind: 'client-gone' });
    }

    function onStop(): void {
      const err = ctx.stop.reason as GatewayError;
      if (phase === 'headers' || phase === 'holding') return finish(err); // nothing sent yet: the caller answers
      cut(err.detail);
    }

    stdout.on('data', onData);
    stdout.once('end', onEnd);
    stdout.resume(); // a child's stdout may start paused (see CgiChild)
    res.once('close', onClientClose);
    if (ctx.stop.aborted) onStop();
    else ctx.stop.addEventListener('abort', onStop, { once: true });
  });
}

/**
 * The signal that killed the child, if it exited by one within `waitMs` and the gateway did not kill it; null
 * when it exited normally, or is still running (it may have closed stdout and gone on: that is allowed).
 */
async function diedBySignal(child: CgiChild, waitMs: number): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(resolve, waitMs, null)));
  const exit = await Promise.race([child.exited, late]);
  clearTimeout(timer);
  return exit !== null && exit.signal !== null && child.killedBecause === undefined ? exit.signal : null;
}

/** `nph-` scripts speak HTTP themselves: their bytes go to the socket unmodified, then the connection closes. */
export function relayNph(child: CgiChild, ctx: RelayContext): Promise<RelayOutcome> {
  const { res } = ctx;
  const socket = res.socket;
  const stdout = child.stdout;
  if (!socket) {
    child.kill('client disconnected');
    return Promise.resolve({ kind: 'client-gone' });
  }
  return new Promise<RelayOutcome>((resolve, reject) => {
    let started = false;
    let timer = setTimeout(onTimeout, ctx.timeoutMs);
    const done = (o: RelayOutcome | GatewayError) => {
      clearTimeout(timer);
      stdout.off('data', onData);
      socket.off('close', onClose);
      ctx.stop.removeEventListener('abort', onStop);
      if (o instanceof GatewayError) {
        child.kill(o.detail);
        reject(o);
      } else resolve(o);
    };
    function onData(chunk: Buffer): void {
      if (!started) {
        started = true;
        const m = /^HTTP\/\d\.\d (\d{3})/.exec(chunk.subarray(0, 16).toString('latin1'));
        res.statusCode = m ? Number(m[1]) : 200; // for the access log only
      }
      clearTimeout(timer);
      timer = setTimeout(onTimeout, ctx.timeoutMs);
      if (!socket!.write(chunk)) {
        stdout.pause();
        socket!.once('drain', () => stdout.resume());
      }
    }
    function onTimeout(): void {
      if (!started) return done(new GatewayError('TIMEOUT', `nph script sent nothing within ${ctx.timeoutMs} ms`));
      child.kill('nph script silent too long');
      socket!.destroy();
      done({ kind: 'cut', why: 'nph script silent too long', timeout: true });
    }
    function onClose(): void {
      child.kill('client disconnected');
      done({ kind: 'client-gone' });
    }
    function onStop(): void {
      const err = ctx.stop.reason as GatewayError;
      if (!started) return done(err);
      child.kill(err.detail);
      socket!.destroy();
      done({ kind: 'cut', why: err.detail });
    }
    ctx.stop.addEventListener('abort', onStop, { once: true });
    stdout.on('data', onData);
    stdout.once('end', () => {
      if (!started) return done(new GatewayError('CGI_BAD_HEADERS', 'nph script sent no output'));
      socket.end();
      done({ kind: 'done' });
    });
    stdout.resume(); // a child's stdout may start paused (see CgiChild)
    socket.once('close', onClose);
  });
}

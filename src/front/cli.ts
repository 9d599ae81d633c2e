// The gatehouse command: flags → options → a listening gateway; signals → graceful shutdown.
import type { Gateway } from './gateway.js';
import { FlagError, helpText, parseFlags } from './flags.js';
import { OptionError, resolveOptions } from './options.js';
import { version } from './version.js';
import { AppLoadError, checkApps } from './check-apps.js';

export async function main(argv: readonly string[]): Promise<number> {
  let command;
  try {
    command = parseFlags(argv);
  } catch (e) {
    if (e instanceof FlagError) return usageError(e.message);
    throw e;
  }
  if (command.kind === 'help') {
    process.stdout.write(helpText(version));
    return 0;
  }
  if (command.kind === 'version') {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  let gateway: Gateway;
  try {
    const options = resolveOptions(command.options);
    // CGI mode's import check boots its thread while the gateway's modules load (the pool's workers start
    // as soon as the gateway exists).
    const appsChecked = options.mode === 'cgi' ? checkApps((options.apps ?? []).map((a) => a.module)) : undefined;
    appsChecked?.catch(() => {}); // the gateway's listen() reports it
    const { createGateway } = await import('./gateway.js');
    gateway = createGateway(options, appsChecked ? { appsChecked } : {});
    await gateway.listen();
  } catch (e) {
    if (e instanceof OptionError || e instanceof AppLoadError) return usageError(e.message);
    const err = e as NodeJS.ErrnoException;
    return usageError(`cannot listen: ${err.code ?? err.message}`);
  }
  const g = gateway;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      g.log.info({ signal }, 'signal received');
      g.shutdown().then(() => resolve(0), () => resolve(1));
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    // SIGHUP: reload the apps with zero failed requests (a new pool only if every app imports).
    process.on('SIGHUP', () => {
      if (!stopping) void g.reload();
    });
  });
}

function usageError(message: string): number {
  process.stderr.write(`gatehouse: ${message}\n`);
  return 2;
}

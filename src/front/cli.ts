// The gatehouse command: flags → options → a listening gateway; signals → graceful shutdown.
import { createGateway } from './gateway.js';
import { FlagError, helpText, parseFlags } from './flags.js';
import { OptionError } from './options.js';
import { version } from './version.js';
import { AppLoadError } from './pool/check-apps.js';

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
  let gateway;
  try {
    gateway = createGateway(command.options);
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

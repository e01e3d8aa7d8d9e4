/**
 * Which interfaces a request captures on: named directly (`interface`) or
 * through aliases from [[interface]] blocks (`alias`), each resolved and
 * checked to exist on this host before anything is opened.
 */
import type { Config } from '../config/schema.js';
import { PcapdError } from '../errors.js';
import { shorten } from '../text.js';
import type { JobInterface } from '../model/job.js';
import type { CaptureRequest } from '../model/request.js';

export type InterfaceChoice = { kind: 'interface'; names: string[] } | { kind: 'alias'; aliases: string[] };

/** What the request names, if anything; naming both is refused. */
export function requestedInterfaces(request: CaptureRequest): InterfaceChoice | undefined {
  const { interface: names, alias: aliases } = request;
  if (names !== undefined && aliases !== undefined) {
    throw new PcapdError('PCAPD_ERR_REQUEST_INTERFACE', 'the request names both interface and alias; name exactly one');
  }
  if (names !== undefined) return { kind: 'interface', names };
  if (aliases !== undefined) return { kind: 'alias', aliases };
  return undefined;
}

export function interfaceChoiceOf(request: CaptureRequest): InterfaceChoice {
  const choice = requestedInterfaces(request);
  if (choice !== undefined) return choice;
  throw new PcapdError(
    'PCAPD_ERR_REQUEST_INTERFACE',
    'the request names neither interface nor alias; name exactly one (alias names come from [[interface]] blocks)',
  );
}

/** Each interface once, in request order; an interface reached by two aliases keeps the first. */
export function resolveInterfaces(
  choice: InterfaceChoice,
  config: Config,
  interfaceExists: (name: string) => boolean,
): JobInterface[] {
  const wanted =
    choice.kind === 'interface' ? choice.names.map((name) => ({ name })) : resolveAliases(choice.aliases, config);
  const seen = new Set<string>();
  const interfaces: JobInterface[] = [];
  for (const entry of wanted) {
    if (seen.has(entry.name)) continue;
    seen.add(entry.name);
    if (!interfaceExists(entry.name)) throw unknownInterface(entry);
    interfaces.push(entry);
  }
  return interfaces;
}

function resolveAliases(aliases: readonly string[], config: Config): JobInterface[] {
  return aliases.flatMap((alias) => {
    // As in pcapdaemon, an alias names every [[interface]] block that lists it, in config order.
    const blocks = config.interface.filter((candidate) => candidate.alias.includes(alias));
    if (blocks.length === 0) {
      throw new PcapdError(
        'PCAPD_ERR_ALIAS_UNKNOWN',
        `alias ${JSON.stringify(shorten(alias))} is not configured in any [[interface]] block`,
      );
    }
    return blocks.map((block) => ({ name: block.name, alias }));
  });
}

function unknownInterface(entry: JobInterface): PcapdError {
  const name = JSON.stringify(shorten(entry.name));
  const via = entry.alias === undefined ? '' : ` (alias ${JSON.stringify(entry.alias)})`;
  return new PcapdError('PCAPD_ERR_INTERFACE_UNKNOWN', `interface ${name}${via} does not exist on this host`);
}

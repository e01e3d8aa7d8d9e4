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

export interface ResolvedInterfaces {
  interfaces: JobInterface[];
  /** Interfaces named in `interface` that this host lacks, skipped because another named one exists. */
  skipped: string[];
}

/**
 * Each interface once, in request order; an interface reached by two aliases
 * keeps the first. Of a list named in `interface`, the ones this host lacks are
 * skipped as long as one exists: pcapdaemon captured on each named interface
 * it had and skipped the rest, so one message can serve a fleet whose hosts
 * name their NICs differently (its own test messages name "eth0" and
 * "enp0s25"). A request with none of them here is refused, so a typo in a
 * one-interface request still shows.
 */
export function resolveInterfaces(choice: InterfaceChoice, config: Config, interfaceExists: (name: string) => boolean): ResolvedInterfaces {
  const wanted = choice.kind === 'interface' ? choice.names.map((name) => ({ name })) : resolveAliases(choice.aliases, config);
  const seen = new Set<string>();
  const unique = wanted.filter((entry) => !seen.has(entry.name) && seen.add(entry.name));
  const absent = unique.filter((entry) => !interfaceExists(entry.name));
  const [firstAbsent] = absent;
  if (firstAbsent === undefined) return { interfaces: unique, skipped: [] };
  if (choice.kind === 'alias' || absent.length === unique.length) throw unknownInterface(firstAbsent, absent.length);
  return { interfaces: unique.filter((entry) => !absent.includes(entry)), skipped: absent.map((entry) => entry.name) };
}

function resolveAliases(aliases: readonly string[], config: Config): JobInterface[] {
  return aliases.flatMap((alias) => {
    // As in pcapdaemon, an alias names every [[interface]] block that lists it, in config order.
    const blocks = config.interface.filter((candidate) => candidate.alias.includes(alias));
    if (blocks.length === 0) {
      throw new PcapdError('PCAPD_ERR_ALIAS_UNKNOWN', `alias ${JSON.stringify(shorten(alias))} is not configured in any [[interface]] block`);
    }
    return blocks.map((block) => ({ name: block.name, alias }));
  });
}

function unknownInterface(entry: JobInterface, absentCount: number): PcapdError {
  const name = JSON.stringify(shorten(entry.name));
  const via = entry.alias === undefined ? '' : ` (alias ${JSON.stringify(entry.alias)})`;
  const others = absentCount > 1 ? ` (nor do the other ${absentCount - 1} named)` : '';
  return new PcapdError('PCAPD_ERR_INTERFACE_UNKNOWN', `interface ${name}${via} does not exist on this host${others}`);
}

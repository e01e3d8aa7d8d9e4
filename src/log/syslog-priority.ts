/**
 * syslog priorities as pcapdaemon and syslog.h write them (facility × 8 +
 * severity, 25 = daemon.alert) turned into the names util-linux `logger -p`
 * takes: it refuses a bare number ("unknown priority name: 25"), and pcapd's
 * syslog lines then went nowhere.
 */
const FACILITIES: Readonly<Record<number, string>> = {
  0: 'kern',
  1: 'user',
  2: 'mail',
  3: 'daemon',
  4: 'auth',
  5: 'syslog',
  6: 'lpr',
  7: 'news',
  8: 'uucp',
  9: 'cron',
  10: 'authpriv',
  11: 'ftp',
  16: 'local0',
  17: 'local1',
  18: 'local2',
  19: 'local3',
  20: 'local4',
  21: 'local5',
  22: 'local6',
  23: 'local7',
};
const SEVERITIES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;

/** "daemon.alert" for 25; undefined for a facility `logger` has no name for (12–15) or a value out of range. */
export function syslogPriorityName(priority: number): string | undefined {
  if (!Number.isInteger(priority) || priority < 0 || priority > 191) return undefined;
  const facility = FACILITIES[Math.floor(priority / 8)];
  return facility === undefined ? undefined : `${facility}.${SEVERITIES[priority % 8]}`;
}

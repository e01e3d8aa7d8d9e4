/**
 * The layer rule: src/ follows the data flow, and a module imports only from
 * its own layer or a lower one. Listed from the top (entry points) down to
 * the helpers every layer may use; a shared type or policy moves down, never
 * an import up. `npm run lint:deps` (part of scripts/test.sh) checks it, and
 * it also refuses import cycles between modules.
 */
const LAYERS = [
  ['src/cli.ts', 'src/daemon.ts', 'src/commands/'],
  ['src/results/'],
  ['src/listeners/'],
  ['src/http/'],
  ['src/requests/'],
  ['src/scheduler/'],
  ['src/delivery/'],
  ['src/spool/'],
  ['src/sinks/'],
  ['src/model/'],
  ['src/capture/'],
  ['src/flows/'],
  ['src/brokers/'],
  ['src/config/'],
  ['src/fs/'],
  ['src/metrics/'],
  ['src/log/'],
  ['src/backoff.ts', 'src/clock.ts', 'src/json.ts'],
  ['src/errors.ts'],
  ['src/text.ts', 'src/timers.ts', 'src/version.ts'],
];

const pathOf = (layer) => `^(${layer.map((entry) => entry.replace(/[.]/g, '\\.')).join('|')})`;

const upward = LAYERS.slice(1).map((layer, index) => ({
  name: `layer-${layer.join('+').replace(/src\/|\/|\.ts/g, '')}`,
  comment: `${layer.join(', ')} may import only from its own layer or a lower one (see LAYERS in .dependency-cruiser.cjs)`,
  severity: 'error',
  from: { path: pathOf(layer) },
  to: { path: pathOf(LAYERS.slice(0, index + 1).flat()) },
}));

const known = LAYERS.flat();

module.exports = {
  forbidden: [
    ...upward,
    {
      name: 'no-cycles',
      comment: 'modules must not import each other in a cycle',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'every-module-in-a-layer',
      comment: 'a new top-level file or folder under src/ gets a place in LAYERS',
      severity: 'error',
      from: { path: '^src/', pathNot: pathOf(known) },
      to: {},
    },
  ],
  options: {
    includeOnly: '^src/',
    exclude: { path: '^src/capture/native/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};

/**
 * `portico config convert FILE [--namespace NS]`: prints, as YAML on stdout, the metallb.io custom
 * resources equivalent to a MetalLB v0.12 configuration (a ConfigMap manifest or the bare value of
 * its `config` key), as MetalLB's configmaptocrs does. Renamed resources and other notices go to
 * stderr. Exit 0 converted, 1 invalid configuration or a name that cannot be converted, 2 usage
 * error (bad arguments, unreadable file).
 */
import { readFileArgument } from '../args.js';
import { convertConfig, defaultConvertNamespace, readConfigFile, resourcesToYAML } from '@portico/config';

const usage = 'usage: portico config convert FILE [--namespace NS]';

// What kubectl accepts as a namespace name (a DNS label).
const namespacePattern = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export async function run(args: string[]): Promise<number> {
  let namespace = defaultConvertNamespace;
  const files: string[] = [];
  let optionsDone = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (!optionsDone && arg === '--') optionsDone = true;
    else if (!optionsDone && (arg === '--help' || arg === '-h')) {
      console.log(usage);
      return 0;
    } else if (!optionsDone && (arg === '--namespace' || arg.startsWith('--namespace='))) {
      const value = arg === '--namespace' ? args[++i] : arg.slice('--namespace='.length);
      if (value === undefined || !namespacePattern.test(value)) {
        console.error(
          `portico config convert: --namespace: "${value ?? ''}" is not a namespace name\n${usage}`,
        );
        return 2;
      }
      namespace = value;
    } else if (!optionsDone && arg.startsWith('-') && arg !== '-') {
      console.error(`portico config convert: unknown option ${arg}\n${usage}`);
      return 2;
    } else files.push(arg);
  }
  const text = readFileArgument('config convert', files, usage);
  if (text === undefined) return 2;

  const parsed = readConfigFile(text);
  if (!parsed.ok) {
    for (const error of parsed.errors) console.error(error);
    return 1;
  }
  const result = convertConfig(parsed.config, { namespace });
  if (!result.ok) {
    for (const error of result.errors) console.error(error);
    return 1;
  }
  for (const notice of result.notices) console.error(notice);
  process.stdout.write(
    `# metallb.io resources converted by portico config convert from ${files[0] === '-' ? 'stdin' : files[0]}\n` +
      resourcesToYAML(result.resources),
  );
  return 0;
}

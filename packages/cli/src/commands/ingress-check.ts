/**
 * `portico ingress check FILE|DIR… [--output text|json]` (`--json` too, as for `portico config
 * check`): reads Ingress manifests (multi-document YAML or JSON; `-` is standard input; a directory gives its .yaml/.yml/.json files in name order,
 * not recursing) and prints, per Ingress, what Portico will do with it and which annotations it
 * will not honour (checkIngresses in @portico/ingress). Documents of other kinds are skipped.
 * Exit 0 nothing to report, 1 problems found (or a file that is not YAML), 2 usage error (bad
 * arguments, unreadable file).
 */
import { parseAllDocuments } from 'yaml';
import { checkIngresses, formatIngressCheck, hasProblems } from '@portico/ingress';
import { readManifestFiles } from '../manifest-files.js';

const usage = 'usage: portico ingress check FILE|DIR… [--output text|json]';

export async function run(args: string[]): Promise<number> {
  let output = 'text';
  const paths: string[] = [];
  let optionsDone = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (!optionsDone && arg === '--') optionsDone = true;
    else if (!optionsDone && arg === '--json') output = 'json';
    else if (!optionsDone && (arg === '--help' || arg === '-h')) {
      console.log(usage);
      return 0;
    } else if (!optionsDone && (arg === '--output' || arg === '-o' || arg.startsWith('--output='))) {
      const value = arg.startsWith('--output=') ? arg.slice('--output='.length) : args[++i];
      if (value !== 'text' && value !== 'json') {
        console.error(
          `portico ingress check: --output must be text or json, not ${JSON.stringify(value ?? '')}\n${usage}`,
        );
        return 2;
      }
      output = value;
    } else if (!optionsDone && arg.startsWith('-') && arg !== '-') {
      console.error(`portico ingress check: unknown option ${arg}\n${usage}`);
      return 2;
    } else paths.push(arg);
  }
  if (paths.length === 0) {
    console.error(`portico ingress check: missing FILE\n${usage}`);
    return 2;
  }
  const texts = readManifestFiles(paths, 'portico ingress check');
  if (texts === undefined) return 2;

  const documents: { source: string; object: unknown }[] = [];
  const syntax: string[] = [];
  for (const { source, text } of texts) {
    parseAllDocuments(text).forEach((doc, i) => {
      const where = `${source} document ${i + 1}`;
      if (doc.errors.length > 0) syntax.push(`${where}: ${doc.errors[0]!.message.split('\n')[0]}`);
      else documents.push({ source: where, object: doc.toJS() });
    });
  }
  const checked = checkIngresses(documents);
  const check = { ...checked, inputProblems: [...syntax, ...checked.inputProblems] };
  if (output === 'json') console.log(JSON.stringify(check, null, 2));
  else console.log(formatIngressCheck(check));
  return hasProblems(check) ? 1 : 0;
}

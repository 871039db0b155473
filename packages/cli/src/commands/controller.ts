// Placeholder until this command is implemented.
export async function run(_args: string[]): Promise<number> {
  console.error('portico controller: not implemented yet');
  return 1;
}
